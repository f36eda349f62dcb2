#include "vmm/process_group.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/unique_fd.h"

namespace clownix::vmm {

std::vector<pid_t> ProcessGroup::Members(pid_t pgid) {
  std::vector<pid_t> members;
  std::error_code ec;  // /proc is always there; an error just means no members are listed.
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (absl::SimpleAtoi(entry.path().filename().string(), &pid) && getpgid(pid) == pgid) {
      members.push_back(pid);
    }
  }
  return members;
}

absl::Status ProcessGroup::KillAndWait(pid_t pgid, absl::Duration timeout) {
  if (pgid <= 1) return absl::InvalidArgumentError(absl::StrCat("process group ", pgid));
  // ESRCH: already gone, which is what is wanted.
  if (kill(-pgid, SIGKILL) != 0 && errno != ESRCH) {
    return absl::ErrnoToStatus(errno, absl::StrCat("kill process group ", pgid));
  }
  if (kill(pgid, SIGKILL) != 0 && errno != ESRCH) {
    return absl::ErrnoToStatus(errno, absl::StrCat("kill ", pgid));
  }
  std::vector<common::UniqueFd> pidfds;
  std::vector<pollfd> fds;
  for (pid_t pid : Members(pgid)) {
    // A member that exited meanwhile has no pidfd to open: nothing to wait for.
    common::UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    if (!fd.valid()) continue;
    fds.push_back({fd.get(), POLLIN, 0});
    pidfds.push_back(std::move(fd));
  }
  const absl::Time deadline = absl::Now() + timeout;
  size_t running = fds.size();
  while (running > 0) {
    int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (wait_ms <= 0) break;
    int ready = poll(fds.data(), fds.size(), wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    running = 0;
    for (pollfd& p : fds) {
      if (p.revents & POLLIN) p.events = 0;  // Exited: stop watching it.
      if (p.events != 0) ++running;
    }
  }
  if (running > 0) {
    return absl::DeadlineExceededError(absl::StrCat(running, " process(es) of group ", pgid,
                                                    " still ran ", absl::FormatDuration(timeout),
                                                    " after SIGKILL"));
  }
  return absl::OkStatus();
}

}  // namespace clownix::vmm
