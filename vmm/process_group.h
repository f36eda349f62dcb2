// A VM's process group. linux.uml calls setsid() itself, so its main pid leads a group that also
// holds its helpers and the host processes of guest processes (docs/uml-facts.md #5, #6); they
// outlive a plain kill of the main pid, so a VM is killed, and waited for, as a group.
#ifndef CLOWNIX_VMM_PROCESS_GROUP_H_
#define CLOWNIX_VMM_PROCESS_GROUP_H_

#include <sys/types.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace clownix::vmm {

class ProcessGroup {
 public:
  // The pids of every process in group `pgid` (from /proc; zombies included).
  static std::vector<pid_t> Members(pid_t pgid);

  // SIGKILLs group `pgid` and its leader (in case it has not made itself a group leader yet),
  // then waits (on pidfds) until every member has exited or `timeout` passes. OK when all have
  // exited (or none was left); DEADLINE_EXCEEDED naming how many still run; errors of kill()
  // other than "no such process". Blocks: never call it holding a lock others wait for.
  static absl::Status KillAndWait(pid_t pgid, absl::Duration timeout);
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_PROCESS_GROUP_H_
