// ApiAccess: who may reach clownixd's API, on which listener, with what role. It owns the rules
// (docs/user-guide.md, "Run clownixd for others"):
//
//   listener                          credentials               a call without a token gets
//   unix socket WORK_DIR/clownixd.sock  file mode 0600 (owner),  admin; with --socket_group and
//                                       or 0660 --socket_group   --tokens_file: nothing
//   --listen HOST:PORT                  TLS (--tls_cert/key),    admin when there is no tokens
//                                       mutual with --client_ca  file (then --client_ca is
//                                                                required); else nothing
//   --insecure_listen HOST:PORT         none (loopback only)     admin when there is no tokens
//                                                                file; else nothing
//
// A call with a token always has that token's role (ApiAuthorizer). server_options.cc refuses the
// combinations that would open the API to anyone (TLS with neither client certificates nor
// tokens, plaintext off loopback).
#ifndef CLOWNIX_SERVER_API_ACCESS_H_
#define CLOWNIX_SERVER_API_ACCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "server/api_roles.h"
#include "server/server_options.h"
#include "server/token_table.h"

namespace clownix::server {

enum class Listener { kUnixSocket, kTls, kInsecureTcp };

// What a call without a token may do on `listener` under `options` (nullopt: nothing).
std::optional<Role> TokenlessRole(Listener listener, const ServerOptions& options);

class ApiAccess {
 public:
  // Loads what the options name: the tokens file (refused when others can read it), the TLS
  // certificate, key and client CA, the socket group. Errors name the file or group:
  // NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT.
  static absl::StatusOr<std::unique_ptr<ApiAccess>> Create(const ServerOptions& options);

  // Adds the unix socket and the TCP listener, if any, to `builder`, each with its credentials
  // and an ApiAuthorizer. `tcp_port` receives the bound TCP port once the server starts.
  void AddListeningPorts(grpc::ServerBuilder& builder, int* tcp_port) const;

  // After the server started: gives the socket its mode, 0600, or 0660 and the group.
  absl::Status SecureSocket() const;

  // "unix:PATH and TLS port N" and so on, for the log.
  std::string Describe(int tcp_port) const;

 private:
  explicit ApiAccess(const ServerOptions& options) : options_(options) {}

  const ServerOptions options_;
  std::shared_ptr<const TokenTable> tokens_;  // null without a tokens file
  std::optional<gid_t> socket_gid_;
  std::string tls_cert_;
  std::string tls_key_;
  std::string client_ca_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_API_ACCESS_H_
