// Validation of what clients label. (What they name is the seed's rule: common/seed_rules.h.)
#ifndef CLOWNIX_SERVER_NAMES_H_
#define CLOWNIX_SERVER_NAMES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"

namespace clownix::server {

// Label keys: [A-Za-z0-9][A-Za-z0-9._/-]{0,62}; values: at most 63 printable ASCII characters;
// at most 32 labels. `owner` ("vm \"a\"") goes into the message.
absl::Status ValidateLabels(absl::string_view owner,
                            const google::protobuf::Map<std::string, std::string>& labels);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_NAMES_H_
