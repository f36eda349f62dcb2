// What the Switch and Machines services answer about the running network, built from what the
// backends report. Pure functions: the runtime gathers the inputs, these shape them.
#ifndef CLOWNIX_SERVER_RUNTIME_RESPONSES_H_
#define CLOWNIX_SERVER_RUNTIME_RESPONSES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/clownix/v1/machines.pb.h"
#include "proto/clownix/v1/switch.pb.h"
#include "server/endpoint_ref.h"
#include "server/switch_driver.h"

namespace clownix::server {

// The statistics of `lan`: one entry per port of `ports` on that LAN, in their order, named by
// `identify` (nothing when it returns nullopt), with the counters `read_counters` gives; a port
// whose counters cannot be read is reported down with zero counters.
using CounterReader = std::function<absl::StatusOr<SwitchDriver::Counters>(uint64_t port_id)>;
using PortIdentifier = std::function<std::optional<EndpointRef>(const SwitchDriver::Port& port)>;
clownix::v1::LanStats BuildLanStats(const std::string& lan,
                                    const std::vector<SwitchDriver::Port>& ports,
                                    const CounterReader& read_counters,
                                    const PortIdentifier& identify);

// The answer to an Exec: the command's exit code, its output (already capped) and whether the
// command produced more than that.
clownix::v1::ExecResponse BuildExecResponse(int exit_code, std::string output, bool truncated);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_RUNTIME_RESPONSES_H_
