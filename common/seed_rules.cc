#include "common/seed_rules.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace clownix::common {
namespace {

bool IsNameStart(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c); }
bool IsNameChar(char c) { return IsNameStart(c) || c == '_' || c == '-'; }

absl::Status CheckName(absl::string_view kind, absl::string_view name, size_t max_length) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(kind, " name is empty"));
  bool ok = name.size() <= max_length && IsNameStart(name[0]);
  for (char c : name) ok = ok && IsNameChar(c);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        kind, " name \"", absl::CHexEscape(name), "\" is invalid: use 1 to ", max_length,
        " characters of a-z, 0-9, '_' and '-', starting with a letter ", "or digit"));
  }
  return absl::OkStatus();
}

// A byte whose two hex nibbles are both decimal digits reads as the number they write ("0x23" is
// 23), as the seed's MACs are written.
std::optional<int> DecimalByte(uint8_t byte) {
  int high = byte >> 4, low = byte & 0xf;
  if (high > 9 || low > 9) return std::nullopt;
  return high * 10 + low;
}

}  // namespace

absl::Status ValidateName(absl::string_view kind, absl::string_view name) {
  return CheckName(kind, name, kMaxNameLength);
}

absl::Status ValidateTapName(absl::string_view name) {
  return CheckName("tap", name, kMaxTapNameLength);
}

absl::Status ValidateVmNumber(int number) {
  if (number < kMinVmNumber || number > kMaxVmNumber) {
    return absl::InvalidArgumentError(
        absl::StrFormat("vm number %d is out of range %d..%d", number, kMinVmNumber, kMaxVmNumber));
  }
  return absl::OkStatus();
}

absl::Status ValidateMemMib(absl::string_view owner, int64_t mem_mib) {
  if (mem_mib < kMinMemMib || mem_mib > kMaxMemMib) {
    return absl::InvalidArgumentError(absl::StrCat(
        owner, ": mem_mib ", mem_mib, " is out of range ", kMinMemMib, "..", kMaxMemMib));
  }
  return absl::OkStatus();
}

absl::Status ValidateNicIndex(int eth) {
  if (eth < 0 || eth >= kMaxNics) {
    return absl::InvalidArgumentError(
        absl::StrFormat("eth%d is out of range: VMs have eth0..eth%d", eth, kMaxNics - 1));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> VmMac(int vm, int eth) {
  if (absl::Status s = ValidateVmNumber(vm); !s.ok()) return s;
  if (absl::Status s = ValidateNicIndex(eth); !s.ok()) return s;
  return absl::StrFormat("02:00:%02d:%02d:00:%02d", vm / 100, vm % 100, eth);
}

std::optional<VmNic> ParseVmMac(const std::array<uint8_t, 6>& mac) {
  if (mac[0] != 0x02 || mac[1] != 0x00 || mac[4] != 0x00) return std::nullopt;
  std::optional<int> high = DecimalByte(mac[2]), low = DecimalByte(mac[3]),
                     eth = DecimalByte(mac[5]);
  if (!high || !low || !eth) return std::nullopt;
  VmNic nic{*high * 100 + *low, *eth};
  if (!ValidateVmNumber(nic.vm).ok() || !ValidateNicIndex(nic.eth).ok()) return std::nullopt;
  return nic;
}

absl::StatusOr<std::string> ParseChosenMac(absl::string_view text) {
  auto invalid = [text](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrFormat("MAC \"%s\" %s", absl::CHexEscape(text), why));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  std::array<uint8_t, 6> mac{};
  if (parts.size() != mac.size()) return invalid("is not six bytes like 02:42:0a:00:00:01");
  for (size_t i = 0; i < mac.size(); ++i) {
    int value = 0;
    if (parts[i].size() != 2 || !absl::ascii_isxdigit(parts[i][0]) ||
        !absl::ascii_isxdigit(parts[i][1]) || !absl::SimpleHexAtoi(parts[i], &value)) {
      return invalid("is not six bytes like 02:42:0a:00:00:01");
    }
    mac[i] = static_cast<uint8_t>(value);
  }
  if (mac[0] & 1) return invalid("is a multicast address (the first byte is odd)");
  if (std::all_of(mac.begin(), mac.end(), [](uint8_t b) { return b == 0; })) {
    return invalid("is all zeros");
  }
  if (ParseVmMac(mac)) return invalid("is in the range of the seed's MACs (02:00:..:..:00:..)");
  return absl::AsciiStrToLower(text);
}

absl::Status ValidateAdminPrefix(absl::string_view prefix) {
  std::vector<absl::string_view> parts = absl::StrSplit(prefix, '.');
  if (parts.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("admin prefix \"%s\" is not of the form X.Y", absl::CHexEscape(prefix)));
  }
  for (absl::string_view part : parts) {
    int value = 0;
    // No leading zeros: inet_aton and ip(8) read "010" as octal 8, so the admin IPs built from it
    // would not be the ones clownix means.
    if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0') ||
        !std::all_of(part.begin(), part.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(part, &value) || value > 255) {
      return absl::InvalidArgumentError(absl::StrFormat("admin prefix \"%s\": \"%s\" is not a byte",
                                                        absl::CHexEscape(prefix), part));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AdminIp(absl::string_view admin_prefix, int vm) {
  if (absl::Status s = ValidateAdminPrefix(admin_prefix); !s.ok()) return s;
  if (absl::Status s = ValidateVmNumber(vm); !s.ok()) return s;
  return absl::StrFormat("%s.%d.%d", admin_prefix, vm / 100, vm % 100);
}

}  // namespace clownix::common
