// The plain data of vmm's public API: what a VM is asked to be (VmSpec), what it is (VmState,
// VmEvent) and what a command run in it gave (ExecResult). vm_manager.h includes this header; its
// units (spec_file.h, vm_exit.h, nic_hotplug.h) use it without depending on VmManager.
#ifndef CLOWNIX_VMM_VM_TYPES_H_
#define CLOWNIX_VMM_VM_TYPES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/guest_config.h"
#include "common/seed_rules.h"

namespace clownix::vmm {

enum class VmState {
  kBooting,  // Process started (or rebooting); the guest agent has not answered yet.
  kRunning,  // The guest agent answered: Exec works.
  kStopped,  // Ended by Halt/Kill or by the guest powering off (exit status 0). Final.
  kCrashed,  // Ended any other way (signal, non-zero exit, kernel panic). Final.
};
const char* VmStateName(VmState state);

// How the guest's boot-time setup (VmSpec::guest) and its startup script went
// (ConfigDisk::StartupReport, or why the report could not be had).
struct StartupResult {
  bool ok = false;     // Everything set up and the script (if any) exited 0.
  int exit_code = 0;   // The script's.
  std::string output;  // The tail of the setup log and the script's output, or the error.
};

struct VmEvent {
  std::string name;
  VmState state;
  std::string reason;  // Why, for kStopped/kCrashed ("killed by signal 9", "kernel panic: ...").
  // With kRunning, once per boot (after the kRunning event that started it): the guest's startup
  // finished.
  std::optional<StartupResult> startup;
};

struct NicSpec {
  int index = 0;         // ethN, 0..7. eth0 is the admin interface.
  std::string ctl_path;  // The LAN's control socket (UML daemon transport).

  bool operator==(const NicSpec& other) const {
    return index == other.index && ctl_path == other.ctl_path;
  }
};

// The seed's rules for each field: common/seed_rules.h.
struct VmSpec {
  std::string name;  // [a-z0-9][a-z0-9_-]{0,31}; the umid and the guest hostname.
  int number = 0;    // 1..9999: MACs and the admin IP derive from it.
  int mem_mib = common::kDefaultMemMib;  // common::kMinMemMib..common::kMaxMemMib.
  std::vector<NicSpec> nics;
  // The image the VM boots: the absolute path of a read-only root file system, shared by every VM
  // on it (each writes into its own copy-on-write file). Empty: VmManagerOptions::root_fs.
  std::string root_fs;
  // MACs chosen for NICs, index -> "02:42:..": checked by common::ParseChosenMac; the other NICs
  // get the seed's (NicMac).
  std::map<int, std::string> macs;
  // Whether eth0 (when in `nics`) is the admin NIC, which the guest gives its admin IP, or a lab
  // NIC like the others (a Kathara lab's eth0).
  bool admin = true;
  // What the guest sets up at boot, from the config disk (config_disk.h). Neither this nor
  // `admin` is kept in the spec file: they are on the config disk, which a reboot in place boots
  // from again.
  common::GuestConfig guest;
};

// The MAC of `spec`'s NIC `index`: the one it chose, or the seed's. INVALID_ARGUMENT for a chosen
// MAC common::ParseChosenMac refuses or an index or number out of range.
absl::StatusOr<std::string> NicMac(const VmSpec& spec, int index);

struct ExecResult {
  int exit_code = 0;                // 128+N when the command was killed by signal N.
  std::string output;               // stdout+stderr, the first `output_cap` bytes.
  uint64_t total_output_bytes = 0;  // How much the command produced.
  bool truncated() const { return total_output_bytes > output.size(); }
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_VM_TYPES_H_
