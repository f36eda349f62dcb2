// ApiAuthorizer: lets a call through to clownixd's services or not, by the role its method needs
// (api_roles.h) and the caller's role. One per listener, installed on its server credentials, so
// gRPC runs it on every call of every service (health and reflection included) before any
// handler sees it.
//
// The caller's role:
//   - a call carrying `authorization: Bearer TOKEN` has that token's role (TokenTable); a token
//     that is not in the table, a malformed header, or any token when clownixd has no tokens
//     file: UNAUTHENTICATED;
//   - a call without a token has the listener's `tokenless_role` (ApiAccess decides it: admin
//     where the transport already identifies the caller, none where tokens are required);
//     none: UNAUTHENTICATED, naming the role the method needs.
// A role too weak for the method: PERMISSION_DENIED naming the method, the role it needs and the
// token's holder and role. A method not in the table needs admin (it is then UNIMPLEMENTED).
// The header is consumed: handlers never see the token.
#ifndef CLOWNIX_SERVER_API_AUTHORIZER_H_
#define CLOWNIX_SERVER_API_AUTHORIZER_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "server/api_roles.h"
#include "server/token_table.h"

namespace clownix::server {

class ApiAuthorizer final : public grpc::AuthMetadataProcessor {
 public:
  // `tokens`: null when clownixd has no tokens file. `tokenless_role`: what a call without a
  // token may do here (nullopt: nothing).
  ApiAuthorizer(std::shared_ptr<const TokenTable> tokens, std::optional<Role> tokenless_role)
      : tokens_(std::move(tokens)), tokenless_role_(tokenless_role) {}

  // The decision for a call to `method` ("/package.Service/Method") carrying the `authorization`
  // header values `authorization` (none, one, or several). OK, UNAUTHENTICATED or
  // PERMISSION_DENIED as above. Thread-safe.
  absl::Status Authorize(absl::string_view method,
                         const std::vector<absl::string_view>& authorization) const;

  // Cheap and non-blocking: runs on gRPC's network thread.
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  const std::shared_ptr<const TokenTable> tokens_;
  const std::optional<Role> tokenless_role_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_API_AUTHORIZER_H_
