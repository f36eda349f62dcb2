#include "server/api_authorizer.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"

namespace clownix::server {
namespace {

constexpr absl::string_view kBearer = "bearer ";

std::string StringOf(grpc::string_ref ref) { return std::string(ref.data(), ref.size()); }

}  // namespace

absl::Status ApiAuthorizer::Authorize(absl::string_view method,
                                      const std::vector<absl::string_view>& authorization) const {
  std::optional<Role> required = RequiredRole(method);
  // Unknown methods fail closed: only admin gets through (to an UNIMPLEMENTED).
  Role needed = required.value_or(Role::kAdmin);
  if (authorization.empty()) {
    if (tokenless_role_ && RoleAllows(*tokenless_role_, needed)) return absl::OkStatus();
    if (tokenless_role_) {
      return absl::PermissionDeniedError(absl::StrCat(method, " needs role ", RoleName(needed),
                                                      "; a call without a token has ",
                                                      RoleName(*tokenless_role_), " here"));
    }
    return absl::UnauthenticatedError(absl::StrCat(
        method, " needs a token with role ", RoleName(needed),
        " or above: send \"authorization: Bearer TOKEN\" (clownix --token or $CLOWNIX_TOKEN)"));
  }
  if (authorization.size() > 1) {
    return absl::UnauthenticatedError(
        absl::StrCat("the call to ", method, " has more than one authorization header"));
  }
  absl::string_view header = authorization[0];
  if (header.size() <= kBearer.size() ||
      !absl::EqualsIgnoreCase(header.substr(0, kBearer.size()), kBearer)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the call to ", method, " has an authorization header that is not \"Bearer TOKEN\""));
  }
  absl::string_view token = absl::StripAsciiWhitespace(header.substr(kBearer.size()));
  if (tokens_ == nullptr) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the call to ", method, " carries a token, but clownixd has no tokens file ",
        "(--tokens_file) to check it against: call without a token, or give clownixd one"));
  }
  const TokenTable::Entry* entry = tokens_->Find(token);
  if (entry == nullptr) {
    return absl::UnauthenticatedError(
        absl::StrCat("unknown token (", method, " needs role ", RoleName(needed), ")"));
  }
  if (!RoleAllows(entry->role, needed)) {
    return absl::PermissionDeniedError(absl::StrCat(method, " needs role ", RoleName(needed),
                                                    "; the token of \"", entry->name,
                                                    "\" has role ", RoleName(entry->role)));
  }
  return absl::OkStatus();
}

grpc::Status ApiAuthorizer::Process(const InputMetadata& auth_metadata,
                                    grpc::AuthContext* /*context*/,
                                    OutputMetadata* consumed_auth_metadata,
                                    OutputMetadata* /*response_metadata*/) {
  absl::string_view method;
  auto path = auth_metadata.find(":path");
  if (path != auth_metadata.end())
    method = absl::string_view(path->second.data(), path->second.size());
  std::vector<absl::string_view> authorization;
  auto [begin, end] = auth_metadata.equal_range("authorization");
  for (auto it = begin; it != end; ++it) {
    authorization.emplace_back(it->second.data(), it->second.size());
    consumed_auth_metadata->emplace(StringOf(it->first), StringOf(it->second));
  }
  return ToGrpcStatus(Authorize(method, authorization));
}

}  // namespace clownix::server
