#include "clients/cli/arg_parser.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace clownix::cli {

ArgParser::ArgParser(std::string usage, std::string summary)
    : usage_(std::move(usage)), summary_(std::move(summary)) {}

void ArgParser::Add(const std::string& name, Flag flag) {
  // Registering a flag twice is a bug in the verb, not a user error.
  if (!flags_.emplace(name, std::move(flag)).second) std::abort();
  order_.push_back(name);
}

void ArgParser::AddString(const std::string& name, const std::string& value_name,
                          const std::string& help, std::string* out) {
  Add(name, Flag{Kind::kString, value_name, help, out});
}

void ArgParser::AddList(const std::string& name, const std::string& value_name,
                        const std::string& help, std::vector<std::string>* out) {
  Add(name, Flag{Kind::kList, value_name, help, out});
}

void ArgParser::AddBool(const std::string& name, const std::string& help, bool* out) {
  Add(name, Flag{Kind::kBool, "", help, out});
}

absl::Status ArgParser::Parse(absl::Span<const std::string> args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (saw_double_dash_) {
      rest_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      saw_double_dash_ = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      help_ = true;
      continue;
    }
    // "-" alone is a positional (conventionally stdin); so is anything not starting with "-".
    if (arg.size() < 2 || arg[0] != '-') {
      positionals_.push_back(arg);
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag \"", arg, "\" (flags are spelt --name)"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag \"--", name, "\""));
    }
    Flag& flag = it->second;
    if (flag.kind == Kind::kBool) {
      bool* out = static_cast<bool*>(flag.out);
      if (!has_value || value == "true") {
        *out = true;
      } else if (value == "false") {
        *out = false;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "flag --", name, " takes no value (or =true / =false), got \"", value, "\""));
      }
      seen_.insert(name);
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value (--", name, " ", flag.value_name, ")"));
      }
      value = args[++i];
    }
    if (flag.kind == Kind::kString) {
      *static_cast<std::string*>(flag.out) = value;
    } else {
      static_cast<std::vector<std::string>*>(flag.out)->push_back(value);
    }
    seen_.insert(name);
  }
  return absl::OkStatus();
}

absl::Status ArgParser::ExpectPositionals(size_t min, size_t max, const std::string& names) const {
  if (positionals_.size() < min) {
    return absl::InvalidArgumentError(absl::StrCat("missing arguments: expected ", names));
  }
  if (positionals_.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", positionals_[max], "\": expected ", names));
  }
  return absl::OkStatus();
}

std::string ArgParser::Help() const {
  std::string text = absl::StrCat("usage: ", usage_, "\n\n", summary_, "\n");
  if (order_.empty()) return text;
  absl::StrAppend(&text, "\nflags:\n");
  std::vector<std::pair<std::string, const Flag*>> lines;
  size_t width = 0;
  for (const std::string& name : order_) {
    const Flag& flag = flags_.at(name);
    std::string left = absl::StrCat("--", name);
    if (flag.kind != Kind::kBool) absl::StrAppend(&left, " ", flag.value_name);
    width = std::max(width, left.size());
    lines.emplace_back(std::move(left), &flag);
  }
  for (const auto& [left, flag] : lines) {
    absl::StrAppendFormat(&text, "  %-*s  %s%s\n", static_cast<int>(width), left, flag->help,
                          flag->kind == Kind::kList ? " (repeatable)" : "");
  }
  absl::StrAppend(&text, "  --help", std::string(width > 6 ? width - 6 : 0, ' '),
                  "  show this help\n");
  return text;
}

}  // namespace clownix::cli
