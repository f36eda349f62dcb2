// Topology files: what `clownix apply FILE` reads and clownix-web uploads. A file is
// clownix.v1.Network in JSON (the protobuf JSON mapping: the output of `clownix topo --json` is
// one) or the same data in YAML, e.g.
//   {"lans": [{"name": "lan1"}],
//    "vms": [{"name": "vm1", "nicCount": 2, "labels": {"role": "host"}}],
//    "links": [{"endpoint": {"nic": {"vm": "vm1", "index": 1}}, "lan": "lan1"}]}
// or
//   lans: [{name: lan1}]
//   vms:
//     - {name: vm1, nic_count: 2, labels: {role: host}}
//   links:
//     - {endpoint: {nic: {vm: vm1, index: 1}}, lan: lan1}
// Field names are the proto names (nic_count) or their JSON names (nicCount), in either form; one
// JSON Schema (docs/topology.schema.json) describes both. How YAML is read: yaml_to_json.h.
// A VM with "admin": false has no admin network (no eth0); without "admin", a new VM gets the
// server's default and an existing one keeps what it has. "image" ("debian"; `clownix image ls`)
// is the same: without it, the server's default image for a new VM, the VM's own otherwise.
// Unknown fields are errors (a typo must not silently drop part of a network). Errors name the
// file, the line and column where known, and the field: `lab.yaml:7:5: vms[1].nic_count: ...`.
#ifndef CLOWNIX_CLIENTS_COMMON_TOPOLOGY_FILE_H_
#define CLOWNIX_CLIENTS_COMMON_TOPOLOGY_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/clownix/v1/resources.pb.h"

namespace clownix::clients {

// Parses `text` as JSON; `source` names it in errors. INVALID_ARGUMENT for malformed JSON or a
// field that Network does not have or a value of the wrong type, with the line and column (and
// the field's path) when they can be found.
absl::StatusOr<v1::Network> ParseTopologyJson(absl::string_view text, absl::string_view source);

// Parses `text` as YAML, the same data as the JSON form. INVALID_ARGUMENT as above, and for
// malformed YAML (yaml-cpp's message and line) and YAML that JSON cannot say (yaml_to_json.h).
absl::StatusOr<v1::Network> ParseTopologyYaml(absl::string_view text, absl::string_view source);

// JSON when the first thing in `text` is `{` or `[`, YAML otherwise (a JSON file never starts
// with anything else; a YAML one rarely does, and a YAML flow map read as JSON means the same).
absl::StatusOr<v1::Network> ParseTopology(absl::string_view text, absl::string_view source);

// Reads and parses the file at `path` ("-" is stdin): .json is JSON, .yaml and .yml YAML, any
// other name (and stdin) as ParseTopology decides. NOT_FOUND / PERMISSION_DENIED /
// INVALID_ARGUMENT naming the file when it cannot be read or parsed.
absl::StatusOr<v1::Network> ReadTopologyFile(const std::string& path);

// Parses `text`, the contents of a file called `name` (an uploaded file's name), as
// ReadTopologyFile decides by the name; `name` names it in errors.
absl::StatusOr<v1::Network> ParseTopologyFile(absl::string_view text, absl::string_view name);

}  // namespace clownix::clients

#endif  // CLOWNIX_CLIENTS_COMMON_TOPOLOGY_FILE_H_
