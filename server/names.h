// Validation of what clients name and label. Names become file names, interface names and shell
// words, so they are held to a strict alphabet.
#ifndef CLOWNIX_SERVER_NAMES_H_
#define CLOWNIX_SERVER_NAMES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"

namespace clownix::server {

// VM and LAN names: [a-z0-9][a-z0-9_-]{0,31}. `kind` ("vm", "lan") goes into the message.
// INVALID_ARGUMENT otherwise.
absl::Status ValidateName(absl::string_view kind, absl::string_view name);

// Tap names are also host interface names: the same alphabet, at most 15 characters (IFNAMSIZ).
absl::Status ValidateTapName(absl::string_view name);

// Label keys: [A-Za-z0-9][A-Za-z0-9._/-]{0,62}; values: at most 63 printable ASCII characters;
// at most 32 labels. `owner` ("vm \"a\"") goes into the message.
absl::Status ValidateLabels(absl::string_view owner,
                            const google::protobuf::Map<std::string, std::string>& labels);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_NAMES_H_
