// Human-readable text for API objects: the words `clownix` prints in tables and watch lines.
// Pure functions of their input, so the output is the same for every verb and testable.
#ifndef CLOWNIX_CLIENTS_CLI_FORMAT_H_
#define CLOWNIX_CLIENTS_CLI_FORMAT_H_

#include <cstdint>
#include <string>

#include "google/protobuf/map.h"
#include "google/protobuf/message.h"
#include "proto/clownix/v1/machines.pb.h"
#include "proto/clownix/v1/resources.pb.h"
#include "proto/clownix/v1/switch.pb.h"
#include "proto/clownix/v1/topology.pb.h"

namespace clownix::cli {

// "running", "crashed", ...; "crashed (killed by signal 9)" with a reason when `with_reason`.
std::string VmStateText(const v1::Vm& vm, bool with_reason = true);
// "switch" or "hub".
std::string LanModeText(v1::LanMode mode);
// "k1=v1,k2=v2" in key order, "-" when empty.
std::string LabelsText(const google::protobuf::Map<std::string, std::string>& labels);
// "vm1/eth1" or "tap:t0".
std::string EndpointText(const v1::Endpoint& endpoint);
// "delay=10ms jitter=2ms loss=5%", "-" for a perfect link.
std::string ImpairmentText(const v1::Impairment& impairment);
// The admin address of a VM: its admin IP, "none" for a VM without the admin network, "-" while
// the server knows no address.
std::string AdminText(const v1::Vm& vm);
// Whether the guest has NIC `nic`: every NIC but a VM's eth0 without the admin network, which
// is a lab NIC there (a Kathara lab's) and exists only while linked.
bool GuestHasNic(const v1::Vm& vm, const v1::Nic& nic);
// The NIC connections of a VM: "eth0:admin eth1:lan1 eth2:-" (GuestHasNic only).
std::string NicsText(const v1::Vm& vm);
// A VM's image, "-" when the server did not say (one older than Vm.image).
std::string ImageText(const v1::Vm& vm);
// How the guest's startup went: "pending", "running", "done", "failed (exit 4)".
std::string StartupText(const v1::StartupStatus& startup);
// What Vm.guest holds: "2 files, 1 sysctl, 3 addresses, startup script (4 lines)", "none".
std::string GuestText(const v1::GuestConfig& guest);
// The addresses Vm.guest gives NIC `index`, space separated; "-" for none.
std::string NicAddressesText(const v1::GuestConfig& guest, uint32_t index);
// A size the way `ls -h` writes it, rounded up: "512K", "16M", "1.2G".
std::string BytesText(uint64_t bytes);
// An image's memory: "96M (min 64M)".
std::string ImageMemText(const v1::Image& image);
// "CREATE", "CONNECT", ...
std::string PlanActionText(v1::PlanItem::Action action);
// "created vm vm1 (defined, 64 MiB, 2 NICs)", "updated link vm1/eth1 -> lan1 (up)", ...
std::string ChangeText(const v1::Change& change);
// "initial", "history expired", "fell behind".
std::string SnapshotReasonText(v1::Snapshot::Reason reason);
// Microseconds since the epoch as local "15:04:05.123".
std::string TimeText(int64_t time_us);
// The protobuf JSON mapping of `message`: indented when `pretty`, else one line.
std::string ToJson(const google::protobuf::Message& message, bool pretty);
// A gRPC status code's canonical name ("NOT_FOUND"), or "CODE_<n>" for an unknown number.
std::string StatusCodeName(int code);
// The server's VM memory budget and boot queue in one line: "vm memory: 448 of 21092 MiB used
// (4 VMs, 16 MiB each for UML), 20644 free; booting 2 (at most 2 at once), 3 queued; waiting
// for memory: c, d". "" when the server runs no VMs (budget 0).
std::string ServerInfoText(const v1::ServerInfo& info);
// VM `vm`'s host memory: "112 MiB charged, 34 MiB used (peak 40)"; "" when it is not charged
// (not running, booting or queued).
std::string VmHostMemoryText(const v1::ServerInfo& info, const std::string& vm);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_FORMAT_H_
