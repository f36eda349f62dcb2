// Facts about the host that decide how VMs are launched.
#ifndef CLOWNIX_VMM_HOST_PROBE_H_
#define CLOWNIX_VMM_HOST_PROBE_H_

#include <cstddef>

#include "absl/status/statusor.h"

namespace clownix::vmm {

class HostProbe {
 public:
  // The XSTATE buffer Debian's linux.uml 6.1um4 hands to ptrace(PTRACE_[GS]ETREGSET,
  // NT_X86_XSTATE), measured with the shim in a logging build: the standard-format XSAVE area
  // up to and including PKRU (x87/SSE/AVX/MPX/AVX-512/PKRU), without AMX.
  static constexpr size_t kUmlXstateBytes = 2696;

  // Size of this host's NT_X86_XSTATE regset, learnt from a short-lived traced child.
  // UNAVAILABLE when ptrace is not permitted. Thread-safe (forks; the child only calls
  // async-signal-safe functions).
  static absl::StatusOr<size_t> XstateRegsetBytes();

  // True when UML 6.1 needs the ptrace XSTATE shim here: the host kernel accepts a
  // SETREGSET only with its full regset size, and that is larger than UML's buffer.
  static absl::StatusOr<bool> NeedsXstateFix();
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_HOST_PROBE_H_
