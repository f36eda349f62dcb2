#include "vmm/host_probe.h"

#include <elf.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

namespace clownix::vmm {

absl::StatusOr<size_t> HostProbe::XstateRegsetBytes() {
  pid_t child = fork();
  if (child < 0) return absl::UnavailableError(absl::StrCat("fork: ", strerror(errno)));
  if (child == 0) {
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) == 0) raise(SIGSTOP);
    _exit(0);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  absl::StatusOr<size_t> result = absl::UnavailableError("ptrace not permitted on this host");
  if (WIFSTOPPED(status)) {
    std::vector<unsigned char> buffer(64 * 1024);
    iovec iov = {buffer.data(), buffer.size()};
    if (ptrace(PTRACE_GETREGSET, child, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) == 0) {
      result = iov.iov_len;
    } else {
      result = absl::UnavailableError(absl::StrCat("PTRACE_GETREGSET: ", strerror(errno)));
    }
    kill(child, SIGKILL);
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
  return result;
}

absl::StatusOr<bool> HostProbe::NeedsXstateFix() {
  absl::StatusOr<size_t> bytes = XstateRegsetBytes();
  if (!bytes.ok()) return bytes.status();
  return *bytes > kUmlXstateBytes;
}

}  // namespace clownix::vmm
