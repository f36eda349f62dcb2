#include "vmm/vm_types.h"

#include "common/seed_rules.h"

namespace clownix::vmm {

absl::StatusOr<std::string> NicMac(const VmSpec& spec, int index) {
  if (absl::Status s = common::ValidateNicIndex(index); !s.ok()) return s;
  auto it = spec.macs.find(index);
  if (it == spec.macs.end()) return common::VmMac(spec.number, index);
  return common::ParseChosenMac(it->second);
}

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
