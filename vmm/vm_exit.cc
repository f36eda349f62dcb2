#include "vmm/vm_exit.h"

#include <sys/wait.h>

#include "absl/strings/str_cat.h"
#include "common/subprocess.h"

namespace clownix::vmm {

ExitVerdict ClassifyExit(const ExitFacts& facts) {
  ExitVerdict verdict{VmState::kCrashed, ""};
  if (facts.wait_status) {
    verdict.reason = common::DescribeWaitStatus(*facts.wait_status);
    if (WIFEXITED(*facts.wait_status) && WEXITSTATUS(*facts.wait_status) == 0) {
      verdict.state = VmState::kStopped;
    }
  } else if (facts.adopted) {
    verdict.reason = "exited (adopted VM: status not available)";
  } else {
    verdict.reason = "exited (status not available)";
  }
  if (!facts.panic.empty()) {
    verdict.state = VmState::kCrashed;
    verdict.reason = absl::StrCat("kernel panic: ", facts.panic, "; ", verdict.reason);
  } else if (!facts.abandoned.empty()) {
    verdict.state = VmState::kCrashed;
    verdict.reason = absl::StrCat("not adopted: ", facts.abandoned, "; ", verdict.reason);
  } else if (facts.stop_requested) {
    verdict.state = VmState::kStopped;
    verdict.reason = absl::StrCat("stopped by clownix; ", verdict.reason);
  } else if (facts.oom_kills > 0) {
    verdict.state = VmState::kCrashed;
    verdict.reason = absl::StrCat("killed by the host's out-of-memory killer (", facts.oom_kills,
                                  facts.oom_kills == 1 ? " process" : " processes",
                                  " of its cgroup); ", verdict.reason);
  }
  if (!facts.cleanup_error.empty()) absl::StrAppend(&verdict.reason, "; ", facts.cleanup_error);
  return verdict;
}

}  // namespace clownix::vmm
