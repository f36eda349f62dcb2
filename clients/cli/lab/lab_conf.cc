#include "clients/cli/lab/lab_conf.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace clownix::cli {
namespace {

constexpr const char* kMetadataKeys[] = {"LAB_NAME",   "LAB_DESCRIPTION", "LAB_VERSION",
                                         "LAB_AUTHOR", "LAB_EMAIL",       "LAB_WEB"};

bool IsWordChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

bool IsMachineName(absl::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsWordChar(c) || c == '-'; });
}

bool IsMac(absl::string_view mac) {
  std::vector<absl::string_view> parts = absl::StrSplit(mac, ':');
  if (parts.size() != 6) return false;
  for (absl::string_view part : parts) {
    if (part.size() != 2 || !absl::ascii_isxdigit(part[0]) || !absl::ascii_isxdigit(part[1])) {
      return false;
    }
  }
  return true;
}

// The value after '=': quotes removed, a trailing "  # comment" dropped. False when a quoted value
// is not closed or is followed by something other than a comment.
bool ParseValue(absl::string_view raw, std::string* value) {
  raw = absl::StripAsciiWhitespace(raw);
  if (!raw.empty() && (raw[0] == '"' || raw[0] == '\'')) {
    const size_t close = raw.find(raw[0], 1);
    if (close == absl::string_view::npos) return false;
    absl::string_view rest = absl::StripAsciiWhitespace(raw.substr(close + 1));
    if (!rest.empty() && rest[0] != '#') return false;
    *value = std::string(raw.substr(1, close - 1));
    return true;
  }
  // A bare value: a '#' after a blank starts a comment.
  for (size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] == '#' && absl::ascii_isspace(raw[i - 1])) {
      raw = absl::StripAsciiWhitespace(raw.substr(0, i));
      break;
    }
  }
  *value = std::string(raw);
  return true;
}

}  // namespace

absl::StatusOr<LabConf> ParseLabConf(absl::string_view text, absl::string_view source) {
  LabConf conf;
  std::map<std::string, size_t> machine_index;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const std::string where = absl::StrCat(source, ":", line_number);
    line = absl::StripAsciiWhitespace(line);  // also a Windows '\r'
    if (line.empty() || line[0] == '#') continue;
    const size_t equals = line.find('=');
    if (equals == absl::string_view::npos) {
      conf.warnings.push_back(
          absl::StrCat(where, ": \"", line, "\" is not KEY=VALUE nor MACHINE[ARG]=VALUE: ignored"));
      continue;
    }
    absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, equals));
    std::string value;
    if (!ParseValue(line.substr(equals + 1), &value)) {
      conf.warnings.push_back(absl::StrCat(where, ": the value of \"", key,
                                           "\" has an unclosed quote or text after it: ignored"));
      continue;
    }
    if (absl::StartsWith(key, "LAB_")) {
      const std::string name(key);
      if (std::find(std::begin(kMetadataKeys), std::end(kMetadataKeys), name) ==
          std::end(kMetadataKeys)) {
        conf.warnings.push_back(absl::StrCat(
            where, ": unknown lab metadata ", name,
            " (known: LAB_NAME, LAB_DESCRIPTION, LAB_VERSION, LAB_AUTHOR, LAB_EMAIL, LAB_WEB): "
            "ignored"));
        continue;
      }
      conf.metadata[name] = {line_number, value};
      continue;
    }
    const size_t open = key.find('[');
    if (open == absl::string_view::npos || open == 0 || key.back() != ']') {
      conf.warnings.push_back(absl::StrCat(
          where, ": \"", line, "\" is not MACHINE[ARG]=VALUE nor LAB_*=VALUE: ignored"));
      continue;
    }
    const std::string machine_name(absl::StripAsciiWhitespace(key.substr(0, open)));
    const std::string arg(absl::StripAsciiWhitespace(key.substr(open + 1, key.size() - open - 2)));
    if (!IsMachineName(machine_name) || arg.empty() ||
        !std::all_of(arg.begin(), arg.end(), [](char c) { return IsWordChar(c) || c == '-'; })) {
      conf.warnings.push_back(absl::StrCat(
          where, ": \"", key,
          "\": a machine is letters, digits, '_' and '-', and its [ARG] a number or a word: "
          "ignored"));
      continue;
    }
    auto [it, inserted] = machine_index.emplace(machine_name, conf.machines.size());
    if (inserted) {
      conf.machines.push_back(ConfMachine{machine_name, line_number, {}, {}});
    }
    ConfMachine& machine = conf.machines[it->second];

    if (!std::all_of(arg.begin(), arg.end(), [](char c) { return absl::ascii_isdigit(c); })) {
      machine.options.push_back(ConfOption{line_number, arg, value});
      continue;
    }
    int index = 0;
    if (!absl::SimpleAtoi(arg, &index) || index > kMaxLabNicIndex) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", machine_name, "[", arg, "]: interface index ", arg,
                       " is out of range: a clownix VM has eth0..eth", kMaxLabNicIndex));
    }
    if (machine.interfaces.count(index) > 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", machine_name, "[", index,
                                                     "] is already set on line ",
                                                     machine.interfaces[index].line));
    }
    ConfInterface interface;
    interface.line = line_number;
    if (absl::StartsWith(value, "tap,")) {
      std::vector<std::string> parts = absl::StrSplit(value, ',');
      if (parts.size() != 3) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": ", machine_name, "[", index,
                                                       "]: a Netkit tap is tap,HOST_IP,GUEST_IP"));
      }
      interface.netkit_tap = true;
      interface.tap_host_ip = parts[1];
      interface.tap_guest_ip = parts[2];
      machine.interfaces[index] = interface;
      continue;
    }
    std::vector<std::string> parts = absl::StrSplit(value, '/', absl::SkipEmpty());
    if (parts.empty() || parts.size() > 2) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", machine_name, "[", index, "]: \"",
                                                     value, "\" is not DOMAIN nor DOMAIN/MAC"));
    }
    interface.domain = parts[0];
    if (!std::all_of(interface.domain.begin(), interface.domain.end(), IsWordChar)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", machine_name, "[", index, "]: collision domain \"",
                       interface.domain, "\" has characters other than letters, digits and '_'"));
    }
    if (parts.size() == 2) {
      if (!IsMac(parts[1])) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": ", machine_name, "[", index, "]: \"", parts[1],
                         "\" is not a MAC address (six hex pairs: 02:42:0a:00:00:01)"));
      }
      interface.mac = absl::AsciiStrToLower(parts[1]);
    }
    machine.interfaces[index] = interface;
  }
  return conf;
}

}  // namespace clownix::cli
