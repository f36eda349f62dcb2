#include "server/names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace clownix::server {
namespace {

constexpr size_t kMaxNameLength = 32;
constexpr size_t kMaxTapNameLength = 15;
constexpr size_t kMaxLabelLength = 63;
constexpr int kMaxLabels = 32;

bool IsNameStart(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c); }
bool IsNameChar(char c) { return IsNameStart(c) || c == '_' || c == '-'; }

absl::Status CheckName(absl::string_view kind, absl::string_view name, size_t max_length) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(kind, " name is empty"));
  bool ok = name.size() <= max_length && IsNameStart(name[0]);
  for (char c : name) ok = ok && IsNameChar(c);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, " name \"", absl::CHexEscape(name), "\" is invalid: use 1 to ",
                     max_length, " characters of a-z, 0-9, '_' and '-', starting with a letter ",
                     "or digit"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateName(absl::string_view kind, absl::string_view name) {
  return CheckName(kind, name, kMaxNameLength);
}

absl::Status ValidateTapName(absl::string_view name) {
  return CheckName("tap", name, kMaxTapNameLength);
}

absl::Status ValidateLabels(absl::string_view owner,
                            const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.size() > kMaxLabels) {
    return absl::InvalidArgumentError(
        absl::StrCat(owner, " has ", labels.size(), " labels; at most ", kMaxLabels, " allowed"));
  }
  for (const auto& [key, value] : labels) {
    bool key_ok = !key.empty() && key.size() <= kMaxLabelLength && absl::ascii_isalnum(key[0]);
    for (char c : key) {
      key_ok = key_ok && (absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '/' || c == '-');
    }
    if (!key_ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          owner, ": label key \"", absl::CHexEscape(key),
          "\" is invalid: use 1 to 63 characters of A-Z, a-z, 0-9, '.', '_', '/', '-'"));
    }
    bool value_ok = value.size() <= kMaxLabelLength;
    for (char c : value) value_ok = value_ok && c > ' ' && c < 127 && c != ',';
    if (!value_ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(owner, ": label \"", key, "\" has an invalid value \"",
                       absl::CHexEscape(value),
                       "\": at most 63 printable characters, no spaces or commas"));
    }
  }
  return absl::OkStatus();
}

}  // namespace clownix::server
