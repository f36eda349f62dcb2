// The JSON Schema of topology files (docs/topology.schema.json), made from the proto: every field
// of clownix.v1.Network and of the messages it holds, under its proto name (nic_count) and its
// JSON name (nicCount), each described by its comment in the .proto. Draft-07: the draft that
// YAML editors (yaml-language-server, VS Code, JetBrains) and Debian's python3-jsonschema all
// implement in full, as containerlab's schema does.
//
// The schema is a little stricter than the parser, to help whoever writes a file by hand: no
// null values, 32-bit integers as numbers ("2" in quotes is accepted by the parser, not here),
// enums by name. Everything `clownix topo --json` prints validates (64-bit integers, printed as
// strings, are accepted either way). Output-only fields are there, marked readOnly, since a
// printed topology is a valid file.
#ifndef CLOWNIX_CLIENTS_CLI_TOPOLOGY_SCHEMA_H_
#define CLOWNIX_CLIENTS_CLI_TOPOLOGY_SCHEMA_H_

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.pb.h"

namespace clownix::cli {

// The schema, pretty-printed JSON ending in a newline, for the message `root`
// ("clownix.v1.Network") of `files` (protoc --include_imports --include_source_info
// --descriptor_set_out: the comments come from the source info). INVALID_ARGUMENT when the set does
// not build or has no `root`.
absl::StatusOr<std::string> TopologySchema(const google::protobuf::FileDescriptorSet& files,
                                           const std::string& root);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_TOPOLOGY_SCHEMA_H_
