#include "clients/web/proto_json.h"

#include "clients/web/api_handler.h"
#include "gtest/gtest.h"
#include "proto/clownix/v1/topology.pb.h"

namespace clownix::web {
namespace {

TEST(ProtoJsonTest, RoundTripWithProtoFieldNames) {
  v1::CreateVmRequest request;
  ASSERT_TRUE(FromJson(R"({"vm": {"name": "vm1", "nic_count": 2}})", "the request", &request).ok());
  EXPECT_EQ(request.vm().nic_count(), 2u);
  const std::string json = ToJson(request);
  EXPECT_NE(json.find("\"nic_count\":2"), std::string::npos) << json;
  EXPECT_NE(json.find("\"state\":\"VM_STATE_UNSPECIFIED\""), std::string::npos) << json;
}

TEST(ProtoJsonTest, UnknownFieldsAreErrorsNamingWhat) {
  v1::CreateVmRequest request;
  absl::Status status = FromJson(R"({"vm": {"nicz": 2}})", "the request", &request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("the request"), absl::string_view::npos) << status;
  EXPECT_NE(status.message().find("nicz"), absl::string_view::npos) << status;
}

TEST(ProtoJsonTest, QuotesControlCharacters) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(ApiHandlerTest, ErrorReplyKeepsTheServersMessage) {
  ApiReply reply = ErrorReply(absl::AlreadyExistsError("lan \"lan1\" already exists"));
  EXPECT_EQ(reply.http_status, 409);
  EXPECT_EQ(reply.json,
            R"({"error":{"code":"ALREADY_EXISTS","message":"lan \"lan1\" already exists"}})");
  EXPECT_EQ(ErrorReply(absl::PermissionDeniedError("viewer")).http_status, 403);
  EXPECT_EQ(ErrorReply(absl::UnavailableError("down")).http_status, 503);
}

// The upload's file is read as clownix apply reads it; what does not parse never reaches
// clownixd (there is none here) and comes back with the parser's FILE:LINE:COLUMN.
TEST(ApiHandlerTest, AnUploadThatDoesNotParseNamesTheFileAndTheLine) {
  ApiHandler handler(
      grpc::CreateChannel("unix:/nonexistent/clownixd.sock", grpc::InsecureChannelCredentials()));
  ApiReply yaml = handler.Handle(
      "apply", R"({"file": "vms:\n  - {name: vm1, nic_count: two}\n", "name": "lab.yaml"})", "");
  EXPECT_EQ(yaml.http_status, 400);
  EXPECT_NE(yaml.json.find(R"("message":"lab.yaml:2:)"), std::string::npos) << yaml.json;
  EXPECT_NE(yaml.json.find("vms[0].nic_count"), std::string::npos) << yaml.json;
  ApiReply json = handler.Handle("apply", R"({"file": "{\"lanz\": []}", "name": "lab.json"})", "");
  EXPECT_EQ(json.http_status, 400);
  EXPECT_NE(json.json.find(R"("message":"lab.json:1:)"), std::string::npos) << json.json;
  EXPECT_NE(json.json.find("lanz"), std::string::npos) << json.json;
}

}  // namespace
}  // namespace clownix::web
