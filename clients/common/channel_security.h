// How every client secures its channel to clownixd, one rule for all (the CLI, clownix-graph; the
// Python package follows the same rule in clownix/security.py):
//
//   --ca FILE      $CLOWNIX_CA     CA (PEM) that clownixd's TLS certificate must be signed by
//   --cert FILE    $CLOWNIX_CERT   client certificate (PEM), for clownixd --client_ca
//   --key FILE     $CLOWNIX_KEY    its private key (PEM)
//   --token T      $CLOWNIX_TOKEN  API token, sent as "authorization: Bearer T"
//   --token_file F $CLOWNIX_TOKEN_FILE  a file holding the token (first line)
//
// A flag wins over its variable; --token or --token_file wins over both variables. A HOST:PORT
// address is reached over TLS when a CA or a client certificate is given, in plaintext otherwise
// (clownixd serves plaintext only on loopback: --insecure_listen); a unix: socket is always
// plaintext (the kernel guards it), so the TLS settings may stay set for a remote server while
// a local socket is used. The token, when given, goes with every call on either.
#ifndef CLOWNIX_CLIENTS_COMMON_CHANNEL_SECURITY_H_
#define CLOWNIX_CLIENTS_COMMON_CHANNEL_SECURITY_H_

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/credentials.h"

namespace clownix::clients {

struct ChannelSecurity {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string token;
  std::string token_file;
};

// `flags` (empty fields: not given) completed from the environment by the precedence above.
// `getenv` looks a variable up (std::getenv; a fake in tests); null or empty values count as
// unset.
ChannelSecurity ChooseChannelSecurity(const ChannelSecurity& flags,
                                      absl::FunctionRef<const char*(const char*)> getenv);

// The credentials for `target` (a gRPC target from ToGrpcTarget) under `security`: TLS, or local
// (plaintext) credentials, with the token as call credentials. Reads the files it names.
// INVALID_ARGUMENT for a certificate without a key (or the reverse), both a token and a token
// file, or an empty token file; the read error (NOT_FOUND, ...) naming a file that cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    absl::string_view target, const ChannelSecurity& security);

}  // namespace clownix::clients

#endif  // CLOWNIX_CLIENTS_COMMON_CHANNEL_SECURITY_H_
