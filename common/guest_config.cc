#include "common/guest_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace clownix::common {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

std::string Quoted(absl::string_view text) {
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, 64)), text.size() > 64 ? "..." : "",
                      "\"");
}

// The guest mounts its own kernel and run-time file systems over these at boot (rcS), so a file
// placed there would be hidden or would touch the running kernel.
constexpr absl::string_view kReservedTrees[] = {"/proc", "/sys", "/dev", "/run"};

// sysctl names: components of [A-Za-z0-9_-] (interface names such as eth1 included), separated
// by '.' or '/', as sysctl(8) takes them.
bool IsSysctlName(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (absl::string_view part : absl::StrSplit(name, absl::ByAnyChar("./"))) {
    if (part.empty()) return false;
    for (char c : part) {
      if (!absl::ascii_isalnum(c) && c != '_' && c != '-') return false;
    }
  }
  return true;
}

}  // namespace

absl::Status ValidateGuestFilePath(absl::string_view field, absl::string_view path) {
  if (path.size() > kMaxGuestPathBytes) {
    return Invalid(field, absl::StrCat("longer than ", kMaxGuestPathBytes, " bytes"));
  }
  if (!absl::StartsWith(path, "/")) return Invalid(field, Quoted(path) + " is not absolute");
  if (path == "/") return Invalid(field, "\"/\" is a directory, not a file");
  for (char c : path) {
    if (c == '\0' || c == '\n') return Invalid(field, Quoted(path) + " holds a NUL or newline");
  }
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part.empty() || part == "." || part == "..") {
      return Invalid(field, Quoted(path) + " is not plain: no empty, \".\" or \"..\" components");
    }
  }
  for (absl::string_view tree : kReservedTrees) {
    if (path == tree || absl::StartsWith(path, absl::StrCat(tree, "/"))) {
      return Invalid(field, absl::StrCat(Quoted(path), " is under ", tree,
                                         ", which the guest mounts at boot"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> ParseFileMode(absl::string_view field, absl::string_view mode) {
  uint32_t value = 0;
  bool octal = !mode.empty() && mode.size() <= 5;
  for (char c : mode) {
    octal = octal && c >= '0' && c <= '7';
    if (octal) value = value * 8 + static_cast<uint32_t>(c - '0');
  }
  if (!octal || value > 07777) {
    return Invalid(field, absl::StrCat(Quoted(mode), " is not an octal mode such as \"0644\""));
  }
  return value;
}

absl::Status ValidateCidr(absl::string_view field, absl::string_view cidr) {
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(cidr, '/');
  const std::string address(parts.first);
  unsigned char buffer[sizeof(in6_addr)];
  int max_prefix = 0;
  if (inet_pton(AF_INET, address.c_str(), buffer) == 1) {
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), buffer) == 1) {
    max_prefix = 128;
  } else {
    return Invalid(field, absl::StrCat(Quoted(cidr), " is not an IPv4 or IPv6 address"));
  }
  int prefix = 0;
  if (std::count(cidr.begin(), cidr.end(), '/') != 1 || parts.second.empty() ||
      !std::all_of(parts.second.begin(), parts.second.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(parts.second, &prefix) || prefix > max_prefix) {
    return Invalid(
        field, absl::StrCat(Quoted(cidr), " needs a prefix length 0..", max_prefix, " (\"", address,
                            "/", max_prefix == 32 ? "24" : "64", "\")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateGuestConfig(const GuestConfig& config, int nic_count, bool admin) {
  if (config.files.size() > kMaxGuestFiles) {
    return Invalid("files", absl::StrCat(config.files.size(), " files, at most ", kMaxGuestFiles));
  }
  size_t bytes = config.startup.size() + config.shutdown.size();
  for (size_t i = 0; i < config.files.size(); ++i) {
    const GuestFile& file = config.files[i];
    const std::string field = absl::StrCat("files[", i, "]");
    if (absl::Status s = ValidateGuestFilePath(field + ".path", file.path); !s.ok()) return s;
    if (file.mode > 07777) return Invalid(field + ".mode", "above 07777");
    bytes += file.contents.size();
  }
  if (bytes > kMaxGuestConfigBytes) {
    return Invalid("files", absl::StrCat("the files and the scripts hold ", bytes,
                                         " bytes, at most ", kMaxGuestConfigBytes));
  }
  if (config.sysctls.size() > kMaxGuestSysctls) {
    return Invalid("sysctls",
                   absl::StrCat(config.sysctls.size(), " sysctls, at most ", kMaxGuestSysctls));
  }
  std::set<std::string> names;
  for (const auto& [name, value] : config.sysctls) {
    const std::string field = absl::StrCat("sysctls[", Quoted(name), "]");
    if (!IsSysctlName(name)) {
      return Invalid(field, "not a sysctl name such as \"net.ipv4.ip_forward\"");
    }
    if (!names.insert(name).second) return Invalid(field, "given twice");
    if (value.size() > kMaxSysctlValueBytes) {
      return Invalid(field, absl::StrCat("value longer than ", kMaxSysctlValueBytes, " bytes"));
    }
    for (char c : value) {
      if (c == '\0' || c == '\n') return Invalid(field, "the value holds a NUL or newline");
    }
  }
  if (config.addresses.size() > kMaxGuestAddresses) {
    return Invalid("addresses", absl::StrCat(config.addresses.size(), " addresses, at most ",
                                             kMaxGuestAddresses));
  }
  for (size_t i = 0; i < config.addresses.size(); ++i) {
    const NicAddress& address = config.addresses[i];
    const std::string field = absl::StrCat("addresses[", i, "]");
    if (address.nic < 0 || address.nic >= nic_count) {
      return Invalid(field + ".nic",
                     absl::StrCat("the VM has no eth", address.nic, ": it has ", nic_count,
                                  " NICs (eth0-eth", nic_count - 1, ")"));
    }
    if (address.nic == 0 && admin) {
      return Invalid(field + ".nic",
                     "eth0 is the admin NIC, whose address is the server's; give the VM "
                     "\"admin\": false to address eth0 itself");
    }
    if (absl::Status s = ValidateCidr(field + ".cidr", address.cidr); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace clownix::common
