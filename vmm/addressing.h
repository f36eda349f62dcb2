// The seed's naming rules for VMs: MAC addresses, admin IP addresses and VM names.
#ifndef CLOWNIX_VMM_ADDRESSING_H_
#define CLOWNIX_VMM_ADDRESSING_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::vmm {

// Stateless helpers; all are thread-safe.
class Addressing {
 public:
  static constexpr int kMinVmNumber = 1;
  static constexpr int kMaxVmNumber = 9999;  // vm/100 and vm%100 must fit two decimal digits.
  static constexpr int kMaxNics = 8;         // eth0..eth7, measured (docs/uml-facts.md #16).

  // MAC of VM `vm`, interface `eth`: 02:00:vm/100:vm%100:00:eth, each field two decimal
  // digits (VM 123, eth1 -> "02:00:01:23:00:01"). INVALID_ARGUMENT when out of range.
  static absl::StatusOr<std::string> Mac(int vm, int eth);

  // Admin IP of VM `vm` on the admin prefix "X.Y": "X.Y.vm/100.vm%100".
  // INVALID_ARGUMENT for a bad prefix or VM number.
  static absl::StatusOr<std::string> AdminIp(absl::string_view admin_prefix, int vm);

  // OK when `prefix` is "X.Y" with X, Y in 0..255.
  static absl::Status ValidateAdminPrefix(absl::string_view prefix);

  // OK when `name` can be a VM name: 1..32 characters of [A-Za-z0-9_-], starting with a letter
  // or digit. Names become umids, file names and the guest's hostname.
  static absl::Status ValidateName(absl::string_view name);
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_ADDRESSING_H_
