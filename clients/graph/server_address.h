// Where clownix-graph finds clownixd, the same way the `clownix` command does: `--server ADDR`,
// else $CLOWNIX_SERVER, else the socket in $CLOWNIX_WORK_DIR, else
// unix:/tmp/clownix/clownixd.sock. ADDR is `unix:PATH`, an absolute PATH, or `HOST:PORT`.
#ifndef CLOWNIX_CLIENTS_GRAPH_SERVER_ADDRESS_H_
#define CLOWNIX_CLIENTS_GRAPH_SERVER_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::graph {

// The gRPC target for the flag and environment values (null or empty means unset).
// INVALID_ARGUMENT, quoting the address, when it is neither form.
absl::StatusOr<std::string> ServerTarget(absl::string_view flag, const char* env_server,
                                         const char* env_work_dir);

}  // namespace clownix::graph

#endif  // CLOWNIX_CLIENTS_GRAPH_SERVER_ADDRESS_H_
