#include "server/names.h"

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

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
