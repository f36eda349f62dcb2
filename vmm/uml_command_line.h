// Builds linux.uml's argument vector (docs/design.md, the seed's parameter list).
#ifndef CLOWNIX_VMM_UML_COMMAND_LINE_H_
#define CLOWNIX_VMM_UML_COMMAND_LINE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace clownix::vmm {

class UmlCommandLine {
 public:
  struct Nic {
    int index = 0;         // ethN.
    std::string mac;       // From common::VmMac.
    std::string ctl_path;  // The LAN's unix control socket (daemon transport).
  };

  struct Params {
    std::string kernel;  // linux.uml path (argv[0]).
    int mem_mib = 64;
    std::string uml_dir;   // Parent of UMID/{pid,mconsole}.
    std::string umid;      // The VM name.
    std::string cow_path;  // Empty in root_fs mode: the VM writes into root_fs directly.
    std::string root_fs;
    std::string config_disk;  // ubdb.
    std::string notify_socket;
    // hostfs=: the host directory a guest's "mount -t hostfs" starts from (an empty one; only
    // the VM's confinement keeps it there, vm_confinement.h). Empty: UML's default, the host's /.
    std::string hostfs_root;
    // Inherited fds of pty masters for con0 and the agent line (ssl1); see vm_manager.h.
    int console_fd = 3;
    int agent_fd = 5;
    // Guest loops_per_jiffy learnt from an earlier boot; > 0 skips the delay-loop calibration
    // (about 0.6 s of a loaded host's boot). 0: calibrate.
    int64_t lpj = 0;
    std::vector<Nic> nics;
  };

  // The argv for `params`. INVALID_ARGUMENT when a value breaks the seed's rules
  // (common/seed_rules.h: name, mem, NIC index) or cannot be expressed on UML's command line (a
  // NIC index given twice, a path with ',', '=' or whitespace, a socket path longer than
  // sun_path). Thread-safe.
  static absl::StatusOr<std::vector<std::string>> Build(const Params& params);

  // "daemon,MAC,unix,CTL": the value of ethN= both on the command line and in mconsole's
  // "config ethN=...". Same checks as Build.
  static absl::StatusOr<std::string> NicValue(const Nic& nic);
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_UML_COMMAND_LINE_H_
