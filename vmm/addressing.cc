#include "vmm/addressing.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace clownix::vmm {

absl::StatusOr<std::string> Addressing::Mac(int vm, int eth) {
  if (vm < kMinVmNumber || vm > kMaxVmNumber) {
    return absl::InvalidArgumentError(
        absl::StrFormat("vm number %d out of range [%d, %d]", vm, kMinVmNumber, kMaxVmNumber));
  }
  if (eth < 0 || eth >= kMaxNics) {
    return absl::InvalidArgumentError(
        absl::StrFormat("interface eth%d out of range [0, %d]", eth, kMaxNics - 1));
  }
  return absl::StrFormat("02:00:%02d:%02d:00:%02d", vm / 100, vm % 100, eth);
}

absl::Status Addressing::ValidateAdminPrefix(absl::string_view prefix) {
  std::vector<absl::string_view> parts = absl::StrSplit(prefix, '.');
  if (parts.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("admin prefix \"%s\" is not of the form X.Y", prefix));
  }
  for (absl::string_view part : parts) {
    int value = 0;
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(part, &value) || value > 255) {
      return absl::InvalidArgumentError(
          absl::StrFormat("admin prefix \"%s\": \"%s\" is not a byte", prefix, part));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Addressing::AdminIp(absl::string_view admin_prefix, int vm) {
  if (absl::Status s = ValidateAdminPrefix(admin_prefix); !s.ok()) return s;
  if (vm < kMinVmNumber || vm > kMaxVmNumber) {
    return absl::InvalidArgumentError(
        absl::StrFormat("vm number %d out of range [%d, %d]", vm, kMinVmNumber, kMaxVmNumber));
  }
  return absl::StrFormat("%s.%d.%d", admin_prefix, vm / 100, vm % 100);
}

absl::Status Addressing::ValidateName(absl::string_view name) {
  if (name.empty() || name.size() > 32) {
    return absl::InvalidArgumentError(
        absl::StrFormat("vm name \"%s\" must have 1 to 32 characters", absl::CEscape(name)));
  }
  if (!absl::ascii_isalnum(name[0])) {
    return absl::InvalidArgumentError(
        absl::StrFormat("vm name \"%s\" must start with a letter or digit", absl::CEscape(name)));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_') {
      return absl::InvalidArgumentError(absl::StrFormat(
          "vm name \"%s\" may only hold letters, digits, '-' and '_'", absl::CEscape(name)));
    }
  }
  return absl::OkStatus();
}

}  // namespace clownix::vmm
