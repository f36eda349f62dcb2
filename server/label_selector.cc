#include "server/label_selector.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace clownix::server {

absl::StatusOr<LabelSelector> LabelSelector::Parse(absl::string_view text) {
  LabelSelector selector;
  if (absl::StripAsciiWhitespace(text).empty()) return selector;
  for (absl::string_view raw : absl::StrSplit(text, ',')) {
    absl::string_view term = absl::StripAsciiWhitespace(raw);
    Term parsed;
    // The operator is at the first '=': keys hold no '=' or '!', but values may ("a==b!=c" asks
    // for a == "b!=c").
    size_t eq = term.find('=');
    if (eq != absl::string_view::npos && eq > 0 && term[eq - 1] == '!') {
      parsed = {Op::kNotEquals, std::string(term.substr(0, eq - 1)),
                std::string(term.substr(eq + 1))};
    } else if (eq != absl::string_view::npos) {
      absl::string_view value = term.substr(eq + 1);
      absl::ConsumePrefix(&value, "=");
      parsed = {Op::kEquals, std::string(term.substr(0, eq)), std::string(value)};
    } else if (absl::ConsumePrefix(&term, "!")) {
      parsed = {Op::kNotExists, std::string(term), ""};
    } else {
      parsed = {Op::kExists, std::string(term), ""};
    }
    parsed.key = std::string(absl::StripAsciiWhitespace(parsed.key));
    parsed.value = std::string(absl::StripAsciiWhitespace(parsed.value));
    bool key_ok = !parsed.key.empty();
    for (char c : parsed.key) key_ok = key_ok && (absl::ascii_isgraph(c) && c != '=' && c != '!');
    if (!key_ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("label selector term \"", raw,
                       "\" is malformed: use key=value, key!=value, key or !key"));
    }
    selector.terms_.push_back(std::move(parsed));
  }
  return selector;
}

bool LabelSelector::Matches(const google::protobuf::Map<std::string, std::string>& labels) const {
  for (const Term& term : terms_) {
    auto it = labels.find(term.key);
    bool present = it != labels.end();
    switch (term.op) {
      case Op::kEquals:
        if (!present || it->second != term.value) return false;
        break;
      case Op::kNotEquals:
        if (present && it->second == term.value) return false;
        break;
      case Op::kExists:
        if (!present) return false;
        break;
      case Op::kNotExists:
        if (present) return false;
        break;
    }
  }
  return true;
}

}  // namespace clownix::server
