// libFuzzer target: the validators of what clients name and label, and the seed's addressing
// (common/seed_rules.h, server/names.h), fed arbitrary bytes.
// Invariants, each checked against the rule as its header writes it (a regular expression or a
// range), so a validator that lets through one byte too many fails here:
//   - a VM, LAN or tap name is accepted exactly when it matches its documented pattern;
//   - labels are accepted exactly when every key and value matches theirs and there are <= 32;
//   - an admin prefix that is accepted gives admin IPs that inet_pton reads back as
//   X.Y.n/100.n%100;
//   - a MAC ParseVmMac accepts is the one VmMac writes for its VM and NIC, and back.
#include <arpa/inet.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <regex>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/seed_rules.h"
#include "google/protobuf/map.h"
#include "server/names.h"

namespace {

namespace common = clownix::common;

void Fail(const std::string& what, absl::string_view input) {
  std::cerr << "names_fuzzer: " << what << ": \"" << absl::CHexEscape(input) << "\"\n";
  abort();
}

bool Matches(const std::string& text, const std::regex& pattern) {
  return std::regex_match(text, pattern);
}

std::regex Pattern(const std::string& pattern) { return std::regex(pattern, std::regex::extended); }

// The patterns the headers document.
const std::regex& kName = *new std::regex(Pattern("[a-z0-9][a-z0-9_-]{0,31}"));
const std::regex& kTapName = *new std::regex(Pattern("[a-z0-9][a-z0-9_-]{0,14}"));
const std::regex& kLabelKey = *new std::regex(Pattern("[A-Za-z0-9][A-Za-z0-9._/-]{0,62}"));
// Two bytes in decimal, without leading zeros: "010" would be octal to inet_aton and to ip(8).
const std::regex& kAdminPrefix = *new std::regex(
    Pattern("(0|[1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\\.(0|[1-9][0-9]?|1[0-9][0-9]|"
            "2[0-4][0-9]|25[0-5])"));

// Label values: at most 63 printable characters, no space, no comma.
bool IsLabelValue(const std::string& value) {
  if (value.size() > 63) return false;
  for (char c : value) {
    if (c <= ' ' || c >= 127 || c == ',') return false;
  }
  return true;
}

void CheckNames(const std::string& name) {
  const bool vm_ok = common::ValidateName("vm", name).ok();
  if (vm_ok != Matches(name, kName)) {
    Fail(vm_ok ? "ValidateName accepts" : "ValidateName refuses", name);
  }
  const bool tap_ok = common::ValidateTapName(name).ok();
  if (tap_ok != Matches(name, kTapName)) {
    Fail(tap_ok ? "ValidateTapName accepts" : "ValidateTapName refuses", name);
  }
}

void CheckAdminPrefix(const std::string& prefix, int vm) {
  const bool ok = common::ValidateAdminPrefix(prefix).ok();
  if (ok != Matches(prefix, kAdminPrefix)) {
    Fail(ok ? "ValidateAdminPrefix accepts" : "ValidateAdminPrefix refuses", prefix);
  }
  absl::StatusOr<std::string> ip = common::AdminIp(prefix, vm);
  if (ip.ok() != (ok && common::ValidateVmNumber(vm).ok())) {
    Fail("AdminIp disagrees with the validators", prefix);
  }
  if (!ip.ok()) return;
  in_addr addr;
  if (inet_pton(AF_INET, ip->c_str(), &addr) != 1) Fail("an admin IP is not an address", *ip);
  const auto* bytes = reinterpret_cast<const uint8_t*>(&addr.s_addr);
  std::vector<absl::string_view> xy = absl::StrSplit(prefix, '.');
  int x = -1, y = -1;
  if (!absl::SimpleAtoi(xy[0], &x) || !absl::SimpleAtoi(xy[1], &y) || bytes[0] != x ||
      bytes[1] != y || bytes[2] != vm / 100 || bytes[3] != vm % 100) {
    Fail("the admin IP is not X.Y.n/100.n%100", *ip);
  }
}

void CheckMacs(const std::array<uint8_t, 6>& mac, int vm, int eth) {
  auto parse_text = [](const std::string& text) {
    std::array<uint8_t, 6> bytes{};
    unsigned int b[6];
    char extra;
    if (sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
               &extra) != 6) {
      Fail("VmMac wrote a malformed MAC", text);
    }
    for (int i = 0; i < 6; ++i) bytes[i] = static_cast<uint8_t>(b[i]);
    return bytes;
  };
  if (std::optional<common::VmNic> nic = common::ParseVmMac(mac)) {
    absl::StatusOr<std::string> text = common::VmMac(nic->vm, nic->eth);
    if (!text.ok() || parse_text(*text) != mac) {
      Fail("ParseVmMac accepts a MAC VmMac does not write",
           absl::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
    }
  }
  absl::StatusOr<std::string> text = common::VmMac(vm, eth);
  if (text.ok() != (common::ValidateVmNumber(vm).ok() && common::ValidateNicIndex(eth).ok())) {
    Fail("VmMac disagrees with the validators", std::to_string(vm) + "/" + std::to_string(eth));
  }
  if (!text.ok()) return;
  std::optional<common::VmNic> back = common::ParseVmMac(parse_text(*text));
  if (!back || back->vm != vm || back->eth != eth) Fail("ParseVmMac does not read back", *text);
}

void CheckLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  bool expected = labels.size() <= 32;
  for (const auto& [key, value] : labels) {
    expected = expected && Matches(key, kLabelKey) && IsLabelValue(value);
  }
  absl::Status status = clownix::server::ValidateLabels("vm \"a\"", labels);
  if (status.ok() != expected) {
    std::string all;
    for (const auto& [key, value] : labels) all += key + "=" + value + ",";
    Fail(status.ok() ? "ValidateLabels accepts" : "ValidateLabels refuses", all);
  }
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) {
    Fail("ValidateLabels refuses with another code than INVALID_ARGUMENT", status.ToString());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int vm = in.ConsumeIntegralInRange(-2, 10001);
  const int eth = in.ConsumeIntegralInRange(-1, 9);
  std::array<uint8_t, 6> mac;
  for (uint8_t& b : mac) b = in.ConsumeIntegral<uint8_t>();
  CheckMacs(mac, vm, eth);
  google::protobuf::Map<std::string, std::string> labels;
  const int label_count = in.ConsumeIntegralInRange(0, 34);
  for (int i = 0; i < label_count; ++i) {
    std::string key = in.ConsumeRandomLengthString(80);
    labels[key] = in.ConsumeRandomLengthString(80);
  }
  CheckLabels(labels);
  const std::string text = in.ConsumeRemainingBytesAsString();
  CheckNames(text);
  CheckAdminPrefix(text, vm);
  return 0;
}
