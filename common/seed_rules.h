// The seed's rules, in one home: what VMs, LANs and taps may be called, the numbers and limits a VM
// has, and the MAC and admin IP address a VM's number gives each of its interfaces. clownixd checks
// requests against them and vmm checks what it is asked to boot against the same ones.
//
// The seed's addressing: VM number `n` (1..9999), interface `eth` (0..7):
//   MAC       02:00:n/100:n%100:00:eth, each field two *decimal* digits (VM 123's eth1 is
//             02:00:01:23:00:01, read like the admin IP below);
//   admin IP  X.Y.n/100.n%100 on eth0, netmask 255.255.0.0 (X.Y.0.0/16 holds every VM's and
//             nothing else), X.Y the first two bytes of the host's admin address.
// All functions are pure and thread-safe.
#ifndef CLOWNIX_COMMON_SEED_RULES_H_
#define CLOWNIX_COMMON_SEED_RULES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::common {

inline constexpr int kMinVmNumber = 1;
inline constexpr int kMaxVmNumber = 9999;  // n/100 and n%100 must fit two decimal digits.
inline constexpr int kMaxNics = 8;         // eth0..eth7: UML's limit (docs/uml-facts.md #16).
inline constexpr int kDefaultMemMib = 64;
// The admin network's prefix length. The seed used /8, which made X.0.0.0/8 (10.0.0.0/8 with the
// usual ip_admin) a directly connected route in every VM: lab traffic to a 10.x address that no
// lab LAN of the VM holds left through eth0 instead of the lab's routers, and a host that forgot an
// address was answered over the admin LAN. X.Y.0.0/16 covers exactly the seed's addresses.
inline constexpr int kAdminPrefixLength = 16;
// X.Y of the admin network when clownixd has no --ip_admin (and what tools/run.sh gives it):
// 198.18.0.0/15 is set aside for benchmarking (RFC 2544), so lab addressing (10.x, 172.16-31.x,
// 192.168.x, and the public-looking ranges Kathará labs like) does not meet it.
inline constexpr uint8_t kDefaultAdminPrefix[2] = {198, 18};
inline constexpr int kMinMemMib = 48;  // UML OOM-panics below this (docs/uml-facts.md #2).
inline constexpr int kMaxMemMib = 8192;
inline constexpr size_t kMaxNameLength = 32;
inline constexpr size_t kMaxTapNameLength = 15;  // Taps are host interfaces: IFNAMSIZ - 1.

// VM and LAN names: [a-z0-9][a-z0-9_-]{0,31}. They become umids, file names, the guest's hostname
// and shell words. `kind` ("vm", "lan") goes into the message. INVALID_ARGUMENT otherwise.
absl::Status ValidateName(absl::string_view kind, absl::string_view name);

// Tap names: the same alphabet, at most kMaxTapNameLength characters.
absl::Status ValidateTapName(absl::string_view name);

// INVALID_ARGUMENT unless kMinVmNumber <= number <= kMaxVmNumber.
absl::Status ValidateVmNumber(int number);

// INVALID_ARGUMENT unless kMinMemMib <= mem_mib <= kMaxMemMib. `owner` ("vm \"a\"") leads the
// message.
absl::Status ValidateMemMib(absl::string_view owner, int64_t mem_mib);

// INVALID_ARGUMENT unless 0 <= eth < kMaxNics.
absl::Status ValidateNicIndex(int eth);

// MAC of VM `vm`, interface `eth`, as text ("02:00:01:23:00:01"). INVALID_ARGUMENT when either is
// out of range.
absl::StatusOr<std::string> VmMac(int vm, int eth);

// The VM number and interface a MAC names by the seed's rule, or nullopt if it is not such a MAC.
struct VmNic {
  int vm = 0;
  int eth = 0;
};
std::optional<VmNic> ParseVmMac(const std::array<uint8_t, 6>& mac);

// A MAC a user chose for a NIC (Vm.nic_macs), in lower case ("02:42:0a:00:00:01"), or
// INVALID_ARGUMENT saying why it cannot be one: six two-digit hex bytes separated by ':', unicast,
// not all zeros, and not one of the seed's own MACs (02:00:..:..:00:..), which name clownix's VMs.
absl::StatusOr<std::string> ParseChosenMac(absl::string_view text);

// OK when `prefix` is "X.Y" with X and Y in 0..255.
absl::Status ValidateAdminPrefix(absl::string_view prefix);

// Admin IP of VM `vm` on prefix "X.Y": "X.Y.vm/100.vm%100". INVALID_ARGUMENT for a bad prefix or
// VM number.
absl::StatusOr<std::string> AdminIp(absl::string_view admin_prefix, int vm);

}  // namespace clownix::common

#endif  // CLOWNIX_COMMON_SEED_RULES_H_
