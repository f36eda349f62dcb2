// Label selectors, as in ListRequest.label_selector: comma-separated terms that must all hold.
//   key=value   the label is present with that value (also key==value)
//   key!=value  the label is absent or has another value
//   key         the label is present
//   !key        the label is absent
// The operator is the first '=' (or the "!=" it ends): values may hold '=' and "!=", and a value
// that starts with '=' is asked for with key==value.
#ifndef CLOWNIX_SERVER_LABEL_SELECTOR_H_
#define CLOWNIX_SERVER_LABEL_SELECTOR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"

namespace clownix::server {

class LabelSelector {
 public:
  // Parses `text`; INVALID_ARGUMENT with the offending term when malformed. Empty matches all.
  static absl::StatusOr<LabelSelector> Parse(absl::string_view text);

  // True when every term holds for `labels`.
  bool Matches(const google::protobuf::Map<std::string, std::string>& labels) const;
  bool MatchesAll() const { return terms_.empty(); }

 private:
  enum class Op { kEquals, kNotEquals, kExists, kNotExists };
  struct Term {
    Op op;
    std::string key;
    std::string value;
  };
  std::vector<Term> terms_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_LABEL_SELECTOR_H_
