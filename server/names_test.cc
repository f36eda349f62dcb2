#include "server/names.h"

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

TEST(ValidateName, AcceptsTheAlphabet) {
  EXPECT_TRUE(ValidateName("vm", "a").ok());
  EXPECT_TRUE(ValidateName("vm", "0router_1-b").ok());
  EXPECT_TRUE(ValidateName("vm", std::string(32, 'x')).ok());
}

TEST(ValidateName, RejectsWithAMessageNamingTheThing) {
  for (const char* bad : {"", "A", "-x", "_x", "a b", "a/b", "a.b", "é", "x;rm"}) {
    absl::Status s = ValidateName("lan", bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("lan name"), std::string::npos) << s;
  }
  EXPECT_FALSE(ValidateName("vm", std::string(33, 'x')).ok());
}

TEST(ValidateTapName, FitsAnInterfaceName) {
  EXPECT_TRUE(ValidateTapName(std::string(15, 't')).ok());
  EXPECT_EQ(ValidateTapName(std::string(16, 't')).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateLabels, ChecksKeysValuesAndCount) {
  google::protobuf::Map<std::string, std::string> labels;
  labels["role"] = "router";
  labels["example.com/tier"] = "";
  EXPECT_TRUE(ValidateLabels("vm \"a\"", labels).ok());
  labels["bad key"] = "x";
  EXPECT_EQ(ValidateLabels("vm \"a\"", labels).code(), absl::StatusCode::kInvalidArgument);
  labels.erase("bad key");
  labels["k"] = "has space";
  EXPECT_FALSE(ValidateLabels("vm \"a\"", labels).ok());
  labels["k"] = "v";
  for (int i = 0; i < 40; ++i) labels["k" + std::to_string(i)] = "v";
  EXPECT_FALSE(ValidateLabels("vm \"a\"", labels).ok());
}

}  // namespace
}  // namespace clownix::server
