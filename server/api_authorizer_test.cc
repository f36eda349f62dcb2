#include "server/api_authorizer.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

constexpr char kViewer[] = "vvvvvvvvvvvvvvvvvvvv";
constexpr char kOperator[] = "oooooooooooooooooooo";
constexpr char kAdmin[] = "aaaaaaaaaaaaaaaaaaaa";

std::shared_ptr<const TokenTable> Tokens() {
  absl::StatusOr<TokenTable> table =
      TokenTable::Parse(absl::StrCat("viewer vic ", kViewer, "\noperator olga ", kOperator,
                                     "\nadmin ada ", kAdmin, "\n"),
                        "t");
  EXPECT_TRUE(table.ok()) << table.status();
  return std::make_shared<const TokenTable>(*std::move(table));
}

absl::StatusCode Code(const ApiAuthorizer& authorizer, absl::string_view method,
                      const std::string& token) {
  std::string header = absl::StrCat("Bearer ", token);
  if (token.empty()) return authorizer.Authorize(method, {}).code();
  return authorizer.Authorize(method, {header}).code();
}

constexpr char kGet[] = "/clownix.v1.Topology/GetTopology";
constexpr char kCreate[] = "/clownix.v1.Topology/CreateVm";
constexpr char kExec[] = "/clownix.v1.Machines/Exec";

TEST(ApiAuthorizer, TokensGiveTheirRoleAndAbove) {
  ApiAuthorizer authorizer(Tokens(), std::nullopt);
  using C = absl::StatusCode;
  EXPECT_EQ(Code(authorizer, kGet, kViewer), C::kOk);
  EXPECT_EQ(Code(authorizer, kCreate, kViewer), C::kPermissionDenied);
  EXPECT_EQ(Code(authorizer, kExec, kViewer), C::kPermissionDenied);
  EXPECT_EQ(Code(authorizer, kGet, kOperator), C::kOk);
  EXPECT_EQ(Code(authorizer, kCreate, kOperator), C::kOk);
  EXPECT_EQ(Code(authorizer, kExec, kOperator), C::kPermissionDenied);
  EXPECT_EQ(Code(authorizer, kExec, kAdmin), C::kOk);
  EXPECT_EQ(Code(authorizer, kGet, ""), C::kUnauthenticated);
  EXPECT_EQ(Code(authorizer, kGet, "wrongwrongwrongwrong"), C::kUnauthenticated);
}

TEST(ApiAuthorizer, MessagesSayWhichRoleIsNeeded) {
  ApiAuthorizer authorizer(Tokens(), std::nullopt);
  absl::Status denied = authorizer.Authorize(kExec, {absl::StrCat("Bearer ", kOperator)});
  EXPECT_EQ(denied.message(),
            "/clownix.v1.Machines/Exec needs role admin; the token of \"olga\" has role operator");
  absl::Status none = authorizer.Authorize(kCreate, {});
  EXPECT_NE(none.message().find("/clownix.v1.Topology/CreateVm needs a token with role operator"),
            std::string::npos)
      << none.message();
  absl::Status unknown = authorizer.Authorize(kCreate, {"Bearer wrongwrongwrongwrong"});
  EXPECT_NE(unknown.message().find("needs role operator"), std::string::npos);
  EXPECT_EQ(unknown.message().find("wrongwrong"), std::string::npos) << "never echo a token";
}

TEST(ApiAuthorizer, TokenlessCallsGetTheListenersRole) {
  ApiAuthorizer trusted(Tokens(), Role::kAdmin);
  EXPECT_TRUE(trusted.Authorize(kExec, {}).ok());
  // A token, when given, is checked even where tokenless calls are trusted.
  EXPECT_EQ(Code(trusted, kExec, kViewer), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code(trusted, kExec, "wrongwrongwrongwrong"), absl::StatusCode::kUnauthenticated);
  ApiAuthorizer no_tokens(nullptr, Role::kAdmin);
  EXPECT_TRUE(no_tokens.Authorize(kExec, {}).ok());
  absl::Status token = no_tokens.Authorize(kExec, {absl::StrCat("Bearer ", kAdmin)});
  EXPECT_EQ(token.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(token.message().find("no tokens file"), std::string::npos);
}

TEST(ApiAuthorizer, MalformedHeadersAndUnknownMethods) {
  ApiAuthorizer authorizer(Tokens(), std::nullopt);
  using C = absl::StatusCode;
  EXPECT_EQ(authorizer.Authorize(kGet, {kViewer}).code(), C::kUnauthenticated);
  EXPECT_EQ(authorizer.Authorize(kGet, {"Basic dXNlcjpwYXNz"}).code(), C::kUnauthenticated);
  EXPECT_EQ(authorizer.Authorize(kGet, {"Bearer "}).code(), C::kUnauthenticated);
  EXPECT_EQ(authorizer.Authorize(kGet, {absl::StrCat("bearer ", kViewer)}).code(), C::kOk);
  EXPECT_EQ(
      authorizer
          .Authorize(kGet, {absl::StrCat("Bearer ", kViewer), absl::StrCat("Bearer ", kAdmin)})
          .code(),
      C::kUnauthenticated);
  // Not in the table: admin only (who then gets UNIMPLEMENTED from gRPC).
  EXPECT_EQ(Code(authorizer, "/clownix.v1.Topology/Nope", kOperator), C::kPermissionDenied);
  EXPECT_EQ(Code(authorizer, "/clownix.v1.Topology/Nope", kAdmin), C::kOk);
  EXPECT_EQ(Code(authorizer, "", kOperator), C::kPermissionDenied);
}

TEST(ApiAuthorizer, ProcessConsumesTheHeader) {
  ApiAuthorizer authorizer(Tokens(), std::nullopt);
  std::string header = absl::StrCat("Bearer ", kViewer);
  grpc::AuthMetadataProcessor::InputMetadata input = {{":path", kGet}, {"authorization", header}};
  grpc::AuthMetadataProcessor::OutputMetadata consumed;
  grpc::AuthMetadataProcessor::OutputMetadata response;
  EXPECT_TRUE(authorizer.Process(input, nullptr, &consumed, &response).ok());
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(consumed.begin()->second, header);
  input = {{":path", kCreate}, {"authorization", header}};
  grpc::Status status = authorizer.Process(input, nullptr, &consumed, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace clownix::server
