// proto_yaml: a protobuf message written as YAML, in the form topology files take
// (clients/common/topology_file.h): proto field names, block style, set fields only, map keys in
// order (and a NicRef's index, 0 included), enums by name, bytes as base64, and multi-line strings
// (startup scripts, files) as literal blocks so that a converted lab reads like one written by
// hand. Reading the output with ParseTopologyYaml gives the message back.
#ifndef CLOWNIX_CLIENTS_CLI_LAB_PROTO_YAML_H_
#define CLOWNIX_CLIENTS_CLI_LAB_PROTO_YAML_H_

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace clownix::cli {

// The YAML document of `message` ("{}\n" when no field is set).
std::string ToYaml(const google::protobuf::Message& message);

// `text` as a YAML scalar on one line: plain when that reads back as the same string, else
// double-quoted.
std::string YamlQuote(absl::string_view text);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LAB_PROTO_YAML_H_
