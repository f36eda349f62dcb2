#include "server/names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace clownix::server {
namespace {

constexpr size_t kMaxLabelLength = 63;
constexpr int kMaxLabels = 32;

}  // namespace

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
      return absl::InvalidArgumentError(absl::StrCat(
          owner, ": label \"", key, "\" has an invalid value \"", absl::CHexEscape(value),
          "\": at most 63 printable characters, no spaces or commas"));
    }
  }
  return absl::OkStatus();
}

}  // namespace clownix::server
