#include "vmm/host_probe.h"

#include <elf.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>  // WIFSTOPPED
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/subprocess.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

namespace clownix::vmm {

absl::StatusOr<size_t> HostProbe::XstateRegsetBytes() {
  // A bare fork, not common::Spawn: the probe needs a tracee, not a program. The child only
  // makes async-signal-safe calls (ptrace, raise, _exit) and never execs.
  pid_t child = fork();
  if (child < 0) return absl::UnavailableError(absl::StrCat("fork: ", strerror(errno)));
  if (child == 0) {
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) == 0) raise(SIGSTOP);
    _exit(0);
  }
  // Returns at the child's ptrace stop (a tracer sees its tracee's stops) or its exit.
  absl::StatusOr<int> stopped = common::WaitForChild(child);
  if (!stopped.ok()) return stopped.status();
  const int status = *stopped;
  absl::StatusOr<size_t> result = absl::UnavailableError("ptrace not permitted on this host");
  if (WIFSTOPPED(status)) {
    std::vector<unsigned char> buffer(64 * 1024);
    iovec iov = {buffer.data(), buffer.size()};
    if (ptrace(PTRACE_GETREGSET, child, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) == 0) {
      result = iov.iov_len;
    } else {
      result = absl::UnavailableError(absl::StrCat("PTRACE_GETREGSET: ", strerror(errno)));
    }
    // SIGKILL of our own stopped child cannot fail; the wait only removes the zombie.
    kill(child, SIGKILL);
    common::WaitForChild(child).IgnoreError();
  }
  return result;
}

absl::StatusOr<bool> HostProbe::NeedsXstateFix() {
  absl::StatusOr<size_t> bytes = XstateRegsetBytes();
  if (!bytes.ok()) return bytes.status();
  return *bytes > kUmlXstateBytes;
}

}  // namespace clownix::vmm
