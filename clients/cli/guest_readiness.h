// Waiting for VMs to be ready, as `clownix apply --wait` does: each VM runs and its guest has
// finished its startup (Vm.startup DONE or FAILED), or it will not get there (it crashed or
// stopped). Netkit's ".ready" files, over the public API: one Watch, no polling.
#ifndef CLOWNIX_CLIENTS_CLI_GUEST_READINESS_H_
#define CLOWNIX_CLIENTS_CLI_GUEST_READINESS_H_

#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/clownix/v1/resources.pb.h"
#include "proto/clownix/v1/topology.grpc.pb.h"

namespace clownix::cli {

// Where one VM is on its way to ready.
enum class Readiness {
  kWaiting,  // defined, booting, or its startup runs
  kReady,    // running, startup DONE
  kFailed,   // running, startup FAILED
  kDown,     // STOPPED or CRASHED: it will not get there by itself
  kMissing,  // not in the topology
};
const char* ReadinessName(Readiness readiness);

Readiness ReadinessOf(const v1::Vm* vm);

// The last state seen of each VM waited for (absent: not in the topology).
using VmsSeen = std::map<std::string, v1::Vm>;

// Follows the topology from now on until none of `vms` is kWaiting, or `deadline` passes
// (DEADLINE_EXCEEDED, with what was seen so far in `seen`). Errors of the Watch call otherwise.
absl::Status WaitForGuests(v1::Topology::Stub& topology, const std::set<std::string>& vms,
                           absl::Time deadline, VmsSeen* seen);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_GUEST_READINESS_H_
