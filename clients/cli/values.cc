#include "clients/cli/values.h"

#include <cmath>
#include <limits>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace clownix::cli {

absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    const std::vector<std::string>& words) {
  std::map<std::string, std::string> labels;
  for (const std::string& word : words) {
    size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad label \"", word, "\": expected key=value, e.g. role=router"));
    }
    std::string key = word.substr(0, eq);
    if (!labels.emplace(key, word.substr(eq + 1)).second) {
      return absl::InvalidArgumentError(absl::StrCat("label \"", key, "\" given twice"));
    }
  }
  return labels;
}

absl::StatusOr<uint32_t> ParseNicIndex(absl::string_view word) {
  absl::string_view digits = word;
  absl::ConsumePrefix(&digits, "eth");
  uint32_t index;
  if (digits.empty() || !absl::c_all_of(digits, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &index)) {
    return absl::InvalidArgumentError(absl::StrCat("bad NIC \"", word, "\": expected eth1 or 1"));
  }
  return index;
}

absl::StatusOr<v1::Endpoint> ParseEndpoint(absl::Span<const std::string> words, size_t* used) {
  if (words.empty()) {
    return absl::InvalidArgumentError("missing endpoint: expected VM NIC, VM/NIC or tap:NAME");
  }
  v1::Endpoint endpoint;
  absl::string_view first = words[0];
  if (absl::ConsumePrefix(&first, "tap:")) {
    if (first.empty()) return absl::InvalidArgumentError("missing tap name after \"tap:\"");
    endpoint.set_tap(std::string(first));
    *used = 1;
    return endpoint;
  }
  absl::string_view vm = first;
  absl::string_view nic;
  if (size_t slash = first.find('/'); slash != absl::string_view::npos) {
    vm = first.substr(0, slash);
    nic = first.substr(slash + 1);
    *used = 1;
  } else if (words.size() >= 2) {
    nic = words[1];
    *used = 2;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "missing NIC after VM \"", first, "\": expected VM NIC (vm1 eth1), VM/NIC or tap:NAME"));
  }
  if (vm.empty()) return absl::InvalidArgumentError(absl::StrCat("missing VM in \"", first, "\""));
  absl::StatusOr<uint32_t> index = ParseNicIndex(nic);
  if (!index.ok()) return index.status();
  endpoint.mutable_nic()->set_vm(std::string(vm));
  endpoint.mutable_nic()->set_index(*index);
  return endpoint;
}

absl::StatusOr<uint32_t> ParseUint32(absl::string_view what, absl::string_view word) {
  uint32_t value;
  if (word.empty() || !absl::c_all_of(word, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(word, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"", word, "\" is not a non-negative integer"));
  }
  return value;
}

absl::StatusOr<uint64_t> ParseUint64(absl::string_view what, absl::string_view word) {
  uint64_t value;
  if (word.empty() || !absl::c_all_of(word, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(word, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"", word, "\" is not a non-negative integer"));
  }
  return value;
}

namespace {

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view what, absl::string_view word) {
  absl::Duration duration;
  if (!absl::ParseDuration(word, &duration) || duration < absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": bad duration \"", word, "\": expected a number with a unit, e.g. 10ms, 1.5s"));
  }
  return duration;
}

absl::StatusOr<uint32_t> ToUint32(absl::string_view what, absl::string_view word, int64_t value) {
  if (value > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": \"", word, "\" is too large"));
  }
  return static_cast<uint32_t>(value);
}

}  // namespace

absl::StatusOr<uint32_t> ParseDurationUs(absl::string_view what, absl::string_view word) {
  absl::StatusOr<absl::Duration> duration = ParseDuration(what, word);
  if (!duration.ok()) return duration.status();
  return ToUint32(what, word, absl::ToInt64Microseconds(*duration));
}

absl::StatusOr<uint32_t> ParseDurationMs(absl::string_view what, absl::string_view word) {
  absl::StatusOr<absl::Duration> duration = ParseDuration(what, word);
  if (!duration.ok()) return duration.status();
  return ToUint32(what, word, absl::ToInt64Milliseconds(*duration));
}

absl::StatusOr<double> ParsePercent(absl::string_view what, absl::string_view word) {
  absl::string_view number = word;
  absl::ConsumeSuffix(&number, "%");
  double value;
  if (number.empty() || !absl::SimpleAtod(number, &value) || !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": bad percentage \"", word, "\": expected e.g. 5 or 0.5%"));
  }
  return value;
}

absl::StatusOr<uint64_t> ParseRateKbps(absl::string_view what, absl::string_view word) {
  std::string lower = absl::AsciiStrToLower(word);
  absl::string_view number = lower;
  uint64_t scale = 1;
  if (absl::ConsumeSuffix(&number, "gbit")) {
    scale = 1000 * 1000;
  } else if (absl::ConsumeSuffix(&number, "mbit")) {
    scale = 1000;
  } else {
    absl::ConsumeSuffix(&number, "kbit");
  }
  uint64_t value;
  if (number.empty() || !absl::c_all_of(number, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(number, &value) || value > std::numeric_limits<uint64_t>::max() / scale) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": bad rate \"", word, "\": expected kbit/s or a unit, e.g. 500kbit, 10mbit"));
  }
  return value * scale;
}

absl::StatusOr<v1::LanMode> ParseLanMode(absl::string_view word) {
  if (word == "switch") return v1::LAN_MODE_SWITCH;
  if (word == "hub") return v1::LAN_MODE_HUB;
  return absl::InvalidArgumentError(
      absl::StrCat("bad LAN mode \"", word, "\": expected switch or hub"));
}

}  // namespace clownix::cli
