// Topology files: what `clownix apply FILE` reads. A file is the protobuf JSON mapping of
// clownix.v1.Network (the output of `clownix topo --json` is one), e.g.
//   {"lans": [{"name": "lan1"}],
//    "vms": [{"name": "vm1", "nicCount": 2, "labels": {"role": "host"}}],
//    "links": [{"endpoint": {"nic": {"vm": "vm1", "index": 1}}, "lan": "lan1"}]}
// A VM with "admin": false has no admin network (no eth0); without "admin", a new VM gets the
// server's default and an existing one keeps what it has. "image" ("debian"; `clownix image ls`)
// is the same: without it, the server's default image for a new VM, the VM's own otherwise.
// Unknown fields are errors (a typo must not silently drop part of a network).
#ifndef CLOWNIX_CLIENTS_CLI_TOPOLOGY_FILE_H_
#define CLOWNIX_CLIENTS_CLI_TOPOLOGY_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/clownix/v1/resources.pb.h"

namespace clownix::cli {

// Parses `text`; `source` names it in errors. INVALID_ARGUMENT for malformed JSON or a field
// that Network does not have.
absl::StatusOr<v1::Network> ParseTopologyJson(absl::string_view text, absl::string_view source);

// Reads and parses the file at `path` ("-" is stdin). NOT_FOUND / PERMISSION_DENIED /
// INVALID_ARGUMENT naming the file when it cannot be read or parsed.
absl::StatusOr<v1::Network> ReadTopologyFile(const std::string& path);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_TOPOLOGY_FILE_H_
