// What a VM's guest sets up at every boot (clownix.v1.GuestConfig), as plain data: the server
// checks a topology's against these rules, vmm checks them again before it writes them on the
// config disk (vmm/config_disk.h), and the guest's boot script applies them. One home for the
// limits, so that what the server accepts is exactly what a config disk can carry.
#ifndef CLOWNIX_COMMON_GUEST_CONFIG_H_
#define CLOWNIX_COMMON_GUEST_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::common {

struct GuestFile {
  std::string path;      // absolute, plain (ValidateGuestFilePath)
  std::string contents;  // any bytes
  uint32_t mode = 0644;  // permission bits, <= 07777
};

struct NicAddress {
  int nic = 0;       // ethN
  std::string cidr;  // "10.0.1.1/24", "fd00::1/64"
};

struct GuestConfig {
  std::vector<GuestFile> files;
  std::vector<std::pair<std::string, std::string>> sysctls;  // name order, names unique
  std::vector<NicAddress> addresses;
  std::string startup;   // shell script run at boot; empty: none
  std::string shutdown;  // shell script run at halt; empty: none

  bool empty() const {
    return files.empty() && sysctls.empty() && addresses.empty() && startup.empty() &&
           shutdown.empty();
  }
};

// Limits (documented in proto/clownix/v1/resources.proto, GuestConfig).
inline constexpr size_t kMaxGuestConfigBytes = 256 * 1024;  // files' contents + the scripts
inline constexpr size_t kMaxGuestFiles = 256;
inline constexpr size_t kMaxGuestSysctls = 64;
inline constexpr size_t kMaxGuestAddresses = 64;
inline constexpr size_t kMaxGuestPathBytes = 1024;
inline constexpr size_t kMaxSysctlValueBytes = 1024;

// Each returns INVALID_ARGUMENT with a message that starts with the field's path inside
// GuestConfig ("files[2].path: ...", "sysctls[\"net.ipv4.ip_forward\"]: ...").

// An absolute path with no empty, "." or ".." component, no NUL or newline, not under the
// guest's kernel and run-time file systems (/proc, /sys, /dev, /run), not "/".
absl::Status ValidateGuestFilePath(absl::string_view field, absl::string_view path);

// "0644", "644", "4755": octal permission bits up to 07777.
absl::StatusOr<uint32_t> ParseFileMode(absl::string_view field, absl::string_view mode);

// An IPv4 or IPv6 address with a prefix length in range ("10.0.1.1/24", "fd00::1/64").
absl::Status ValidateCidr(absl::string_view field, absl::string_view cidr);

// The whole configuration of a VM with `nic_count` NICs; `admin`: whether eth0 is the admin NIC
// (its address is the server's to give, so no NicAddress may name NIC 0 then).
absl::Status ValidateGuestConfig(const GuestConfig& config, int nic_count, bool admin);

}  // namespace clownix::common

#endif  // CLOWNIX_COMMON_GUEST_CONFIG_H_
