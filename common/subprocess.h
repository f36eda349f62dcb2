// Child processes: the one way clownix starts a program. Spawn starts it and returns at once; Run
// starts it, collects its output and waits for it.
//
// How it works. Everything the child needs (argv, environment, the resolved program path) is
// prepared before fork(); the child then makes only async-signal-safe system calls (the parent is
// multi-threaded): it confines itself as asked (cgroups, user, landlock), sets up its descriptors,
// signals and process group, and execs. A close-on-exec pipe reports a failed exec's errno (or a
// failed confinement's) to the parent, so "no such program" is an error of Spawn, not an exit
// status to decode. Only 0, 1, 2 and the descriptors listed in `fds` cross exec, whatever
// else the parent has open.
#ifndef CLOWNIX_COMMON_SUBPROCESS_H_
#define CLOWNIX_COMMON_SUBPROCESS_H_

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"

namespace clownix::common {

struct SpawnOptions {
  // argv[0] is a path, or a name looked up in PATH.
  std::vector<std::string> argv;
  // The child's environment; nullopt: the parent's.
  std::optional<std::vector<std::string>> env;
  // Standard input comes from this file.
  std::string stdin_path = "/dev/null";
  // Where standard output and standard error go.
  enum class Output {
    kInherit,  // the parent's
    kDiscard,  // /dev/null
    kFile,     // appended to `output_path` (created 0640 if missing)
    kPipe,     // a pipe whose read end Spawn returns (Run reads it)
  };
  Output output = Output::kInherit;
  std::string output_path;
  // Only stdout goes to `output`; stderr stays the parent's.
  bool stderr_to_parent = false;
  // Descriptors the child gets: `parent` of this process becomes `child` in the new one. Applied
  // last, so a `child` of 0, 1 or 2 replaces what the options above put there.
  struct Fd {
    int parent;
    int child;
  };
  std::vector<Fd> fds;
  // The child's working directory; "": the parent's.
  std::string working_dir;
  // The child leads a process group of its own (killing the group kills its helpers too).
  bool new_process_group = false;
  // The child starts a session of its own (setsid) whose controlling terminal is the terminal
  // at this descriptor of the child (one of `fds`), its process group in the foreground: the
  // kernel then sends the group SIGWINCH when that terminal's size changes. -1: none. Not with
  // new_process_group (a session leader leads its process group already).
  int controlling_terminal = -1;
  // Signal the child gets when the thread that spawned it ends (PR_SET_PDEATHSIG); 0: none.
  int parent_death_signal = 0;

  // Confinement, applied in the child before anything else, in this order
  // (vmm/vm_confinement.h says why each one is there).
  // cgroup.procs files open for writing: the child writes "0" to each, so that it and all it
  // forks are in those cgroups before it runs anything.
  std::vector<int> join_cgroup_fds;
  // Written to /proc/self/oom_score_adj when not 0 (positive: killed first on memory pressure).
  int oom_score_adj = 0;
  // personality(ADDR_NO_RANDOMIZE): the program's address space is laid out the same way every
  // time (what `setarch -R` does); kept across its own execs.
  bool no_address_randomization = false;
  // The file mode creation mask; -1: the parent's.
  int umask = -1;
  // Run as this user and group, with no supplementary groups and so no capabilities.
  struct Credentials {
    uid_t uid;
    gid_t gid;
  };
  std::optional<Credentials> run_as;
  // PR_SET_NO_NEW_PRIVS: neither the program nor what it runs can gain privileges through exec
  // (set-user-id files, file capabilities). Implied by a landlock ruleset.
  bool no_new_privs = false;
  // A landlock ruleset (common/landlock.h) the child confines itself to; -1: none.
  int landlock_ruleset_fd = -1;
};

struct SpawnedChild {
  pid_t pid = 0;
  UniqueFd pidfd;   // Readable when the child exits (pidfd_open).
  UniqueFd output;  // The read end of the output pipe with Output::kPipe.
};

// Starts the program. The caller reaps it (waitpid, or through the pidfd). INVALID_ARGUMENT: empty
// argv; NOT_FOUND / PERMISSION_DENIED: the program cannot be executed; UNAVAILABLE: fork failed;
// others as errno maps them.
absl::StatusOr<SpawnedChild> Spawn(const SpawnOptions& options);

struct RunResult {
  int wait_status = 0;     // As waitpid reports it.
  std::string output;      // stdout + stderr, the first `output_cap` bytes.
  bool succeeded() const;  // Exited with status 0.
};

// Spawns with Output::kPipe, reads the output until the program exits and waits for it. A program
// still running after `timeout` is SIGKILLed (with its process group if it leads one) and the call
// returns DEADLINE_EXCEEDED. Other errors: those of Spawn.
absl::StatusOr<RunResult> Run(SpawnOptions options, size_t output_cap = 64 << 10,
                              absl::Duration timeout = absl::InfiniteDuration());

// Run, then OK only if the program exited with status 0; otherwise UNAVAILABLE: "`ip addr add ...`
// exited with status 2: <the end of its output>".
absl::Status RunChecked(SpawnOptions options);

// "exited with status 1", "killed by signal 9 (Killed)".
std::string DescribeWaitStatus(int wait_status);

// waitpid that retries on EINTR. Returns the wait status; errors as errno maps them.
absl::StatusOr<int> WaitForChild(pid_t pid);

}  // namespace clownix::common

#endif  // CLOWNIX_COMMON_SUBPROCESS_H_
