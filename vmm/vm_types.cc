#include "vmm/vm_types.h"

namespace clownix::vmm {

const char* VmStateName(VmState state) {
  switch (state) {
    case VmState::kBooting:
      return "BOOTING";
    case VmState::kRunning:
      return "RUNNING";
    case VmState::kStopped:
      return "STOPPED";
    case VmState::kCrashed:
      return "CRASHED";
  }
  return "?";
}

}  // namespace clownix::vmm
