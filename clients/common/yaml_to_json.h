// YAML for protobuf messages: a YAML document (or a JSON one, read as YAML to learn where things
// are) is checked against a message type and rewritten as the protobuf JSON mapping of it, which
// google::protobuf::util::JsonStringToMessage then parses. So a YAML file means exactly what the
// same data written as JSON means, field names included (the proto name `nic_count` and the JSON
// name `nicCount` both), and one JSON Schema describes both.
//
// How YAML maps to JSON (the YAML 1.2 core schema, as YAML editors and JSON Schema validators
// read it): an unquoted 2 is a number, true/false a boolean, ~/null/nothing is null, anything
// quoted is a string. So `name: 1` is an error (quote it), as {"name": 1} is in JSON.
//
// YAML that has no JSON meaning, handled deliberately:
//   - anchors and aliases: fine, an alias is a copy of the value it names;
//   - duplicate keys, and the same field set twice under both its names (nicCount and nic_count):
//     errors naming both lines (JSON's parser keeps the last one silently; a YAML file is
//     usually written by hand, where a duplicate is a mistake);
//   - tags: `!!str` forces a string (the spelled-out form of quoting); any other tag is an error;
//   - keys: a scalar key is its text (JSON keys are strings: `1: x` in labels is the key "1"); a
//     null key, or a list or a map as a key, is an error; the merge key `<<` is not supported and
//     says so;
//   - several documents in one stream (`---`), or anything after the document: an error; a
//     topology is one document.
// Errors are INVALID_ARGUMENT, their message "SOURCE:LINE:COLUMN: PATH: what" (1-based, PATH
// as written in the file: `vms[1].nic_count`), for example
//   lab.yaml:7:5: vms[1].nic_count: expected an integer, got "two"
// The check is never stricter than JSON's parser on values: what it lets through that the parser
// still refuses comes back from the parser, located by FindPath.
#ifndef CLOWNIX_CLIENTS_COMMON_YAML_TO_JSON_H_
#define CLOWNIX_CLIENTS_COMMON_YAML_TO_JSON_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "yaml-cpp/yaml.h"

namespace clownix::clients {

struct YamlToJsonOptions {
  // Names the document in errors: "SOURCE:LINE:COLUMN: PATH: what".
  std::string source;
  // False when the document is JSON read as YAML: JSON's parser takes duplicate keys (the last
  // one wins), and the check must not refuse what the parser accepts.
  bool reject_duplicate_keys = true;
};

// Parses `text` as one YAML document. INVALID_ARGUMENT "SOURCE:LINE:COLUMN: message" (yaml-cpp's)
// when it is malformed, or when it holds several documents. An empty stream (or only comments)
// gives a null node.
absl::StatusOr<YAML::Node> LoadYamlDocument(absl::string_view text, absl::string_view source);

// Checks `root` against `type` and returns it as protobuf JSON. Errors as above.
absl::StatusOr<std::string> YamlToJson(const YAML::Node& root,
                                       const google::protobuf::Descriptor& type,
                                       const YamlToJsonOptions& options);

// Where protobuf's JSON parser error path (proto names and indexes, "vms[1].nic_count",
// "vms[0].labels[2].value") is in `root`, whose keys may be proto or JSON names; nullopt when it
// is not there. 1-based line and column.
struct YamlPosition {
  int line = 0;
  int column = 0;
};
std::optional<YamlPosition> FindPath(const YAML::Node& root,
                                     const google::protobuf::Descriptor& type,
                                     absl::string_view path);

}  // namespace clownix::clients

#endif  // CLOWNIX_CLIENTS_COMMON_YAML_TO_JSON_H_
