// UmlLauncher: how VmManager starts a VM's process, the seam between its logic and linux.uml.
// The real launcher spawns the kernel through common::Spawn; tests hand VmManager a fake
// (vmm/testing/fake_uml_launcher.h) that starts a stand-in process and plays the guest's side of
// the lines, so lifecycle, agent and console logic run without UML.
//
// The launched process finds its lines on fixed descriptors (UmlCommandLine puts them on the
// command line as con0=fd:3 and ssl1=fd:5): the pty masters it uses, and a slave of each that it
// only holds (pty.h). After a clownixd restart Adopt finds the slaves' paths by reading
// /proc/PID/fd/4 and /proc/PID/fd/6.
#ifndef CLOWNIX_VMM_UML_LAUNCHER_H_
#define CLOWNIX_VMM_UML_LAUNCHER_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/subprocess.h"
#include "common/unique_fd.h"

namespace clownix::vmm {

inline constexpr int kConsoleMasterFd = 3;
inline constexpr int kConsoleSlaveFd = 4;
inline constexpr int kAgentMasterFd = 5;
inline constexpr int kAgentSlaveFd = 6;

class UmlLauncher {
 public:
  struct Request {
    std::vector<std::string> argv;  // UmlCommandLine::Build's; argv[0] is the kernel.
    std::string preload;            // LD_PRELOAD for the process ("" none); replaces clownixd's.
    std::string log_path;           // Standard output and error are appended here.
    // This process's descriptors that become kConsoleMasterFd.. kAgentSlaveFd in the child.
    int console_master = -1;
    int console_slave = -1;
    int agent_master = -1;
    int agent_slave = -1;
    // The process's confinement (vm_confinement.h), applied before it runs; see
    // common::SpawnOptions for each.
    std::optional<common::SpawnOptions::Credentials> run_as;
    int landlock_ruleset_fd = -1;
    std::vector<int> join_cgroup_fds;
    int oom_score_adj = 0;
    bool no_address_randomization = false;
    std::string tmp_dir;  // TMPDIR, where UML makes its memory file; "" clownixd's.
    // Its working directory ("" clownixd's). UML goes back to it by name after a chdir (when it
    // writes a COW header), so its user must be able to reach it.
    std::string working_dir;
  };
  struct Launched {
    pid_t pid = 0;           // A child of this process; it leads (or will lead) its own group.
    common::UniqueFd pidfd;  // Readable once it has exited.
  };

  virtual ~UmlLauncher() = default;

  // Starts the VM's process and returns once it runs. Errors: those of common::Spawn. Called
  // from any thread, concurrently.
  virtual absl::StatusOr<Launched> Launch(const Request& request) = 0;

  // The real launcher: common::Spawn of argv with clownixd's environment (LD_PRELOAD replaced),
  // standard input /dev/null. No new process group: linux.uml calls setsid() itself, which
  // fails in a process that already leads a group (docs/uml-facts.md #5).
  static std::unique_ptr<UmlLauncher> Real();
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_UML_LAUNCHER_H_
