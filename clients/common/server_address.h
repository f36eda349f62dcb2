// Where every client finds clownixd, one rule for all (the CLI, clownix-graph; the Python package
// follows the same rule): `--server ADDR`, else $CLOWNIX_SERVER, else the socket in
// $CLOWNIX_WORK_DIR, else unix:/tmp/clownix/clownixd.sock (clownixd's default work dir). ADDR is
// `unix:PATH`, an absolute PATH (taken as unix:PATH), or `HOST:PORT`.
#ifndef CLOWNIX_CLIENTS_COMMON_SERVER_ADDRESS_H_
#define CLOWNIX_CLIENTS_COMMON_SERVER_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::clients {

inline constexpr char kDefaultServerAddress[] = "unix:/tmp/clownix/clownixd.sock";

// The address to use, by the precedence above. Null or empty environment values count as unset.
std::string ChooseServerAddress(absl::string_view flag_value, const char* env_server,
                                const char* env_work_dir);

// The gRPC target for an address; INVALID_ARGUMENT, quoting it, when it is neither form.
absl::StatusOr<std::string> ToGrpcTarget(absl::string_view address);

// ToGrpcTarget(ChooseServerAddress(...)).
absl::StatusOr<std::string> ServerTarget(absl::string_view flag_value, const char* env_server,
                                         const char* env_work_dir);

}  // namespace clownix::clients

#endif  // CLOWNIX_CLIENTS_COMMON_SERVER_ADDRESS_H_
