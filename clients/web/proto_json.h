// The JSON the page and clownix-web exchange: the protobuf JSON mapping of the public API's
// messages, with the proto field names (nic_count, as in topology files and `clownix topo
// --json`), every field printed (a page never guesses a default), enums by name.
#ifndef CLOWNIX_CLIENTS_WEB_PROTO_JSON_H_
#define CLOWNIX_CLIENTS_WEB_PROTO_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace clownix::web {

// `message` as JSON text. Cannot fail for the API's messages (all fields are JSON-mappable).
std::string ToJson(const google::protobuf::Message& message);

// Parses `text` into `message` (proto or JSON field names; unknown fields are errors, so a typo
// is not silently dropped). INVALID_ARGUMENT naming `what` and the parser's message.
absl::Status FromJson(absl::string_view text, absl::string_view what,
                      google::protobuf::Message* message);

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view text);

}  // namespace clownix::web

#endif  // CLOWNIX_CLIENTS_WEB_PROTO_JSON_H_
