// How a VM ended, decided from what is known once its process has gone: a pure function, so every
// rule (a panic is a crash, a stop clownix asked for is a stop, exit status 0 is the guest
// powering off) is tested without UML.
#ifndef CLOWNIX_VMM_VM_EXIT_H_
#define CLOWNIX_VMM_VM_EXIT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "vmm/vm_types.h"

namespace clownix::vmm {

struct ExitFacts {
  // The main process's wait status, as waitpid reports it. nullopt when it is not known: the VM
  // was adopted (another process is its parent) or could not be reaped.
  std::optional<int> wait_status;
  bool adopted = false;
  // The message of the kernel panic the VM reported (mconsole notify) before dying; "" if none.
  std::string panic;
  // Halt or Kill asked for the VM to end.
  bool stop_requested = false;
  // Why clownix killed a VM it could not take over after a restart (e.g. its spec file is
  // corrupt); "" normally.
  std::string abandoned;
  // What went wrong while killing the rest of its process group; "" if nothing.
  std::string cleanup_error;
  // Processes of the VM's cgroup the host kernel's OOM killer killed (its oom_kill counter: host
  // memory pressure, or the VM's own cgroup limit); 0 also when unknown (no cgroups).
  int64_t oom_kills = 0;
};

struct ExitVerdict {
  VmState state;       // kStopped or kCrashed.
  std::string reason;  // "stopped by clownix; killed by signal 9 (Killed)", "kernel panic: ..."
};

// kCrashed on a panic whatever else happened, and for an abandoned VM; otherwise kStopped when
// clownix asked for the stop or the process exited with status 0 (the guest powered off);
// kCrashed otherwise, with "killed by the host's out-of-memory killer" first when the VM's cgroup
// counted OOM kills. The reason says why, then how the process ended, then any cleanup error.
ExitVerdict ClassifyExit(const ExitFacts& facts);

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_VM_EXIT_H_
