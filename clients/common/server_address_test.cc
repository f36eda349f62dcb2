#include "clients/common/server_address.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::clients {
namespace {

using ::testing::HasSubstr;

TEST(ChooseServerAddressTest, Precedence) {
  EXPECT_EQ(ChooseServerAddress("unix:/a", "unix:/b", "/c"), "unix:/a");
  EXPECT_EQ(ChooseServerAddress("", "unix:/b", "/c"), "unix:/b");
  EXPECT_EQ(ChooseServerAddress("", "", "/c"), "unix:/c/clownixd.sock");
  EXPECT_EQ(ChooseServerAddress("", nullptr, "/c/"), "unix:/c/clownixd.sock");
  EXPECT_EQ(ChooseServerAddress("", nullptr, nullptr), kDefaultServerAddress);
  EXPECT_EQ(ChooseServerAddress("", "", ""), "unix:/tmp/clownix/clownixd.sock");
}

TEST(ToGrpcTargetTest, Forms) {
  EXPECT_EQ(*ToGrpcTarget("unix:/tmp/x.sock"), "unix:/tmp/x.sock");
  EXPECT_EQ(*ToGrpcTarget("/tmp/x.sock"), "unix:/tmp/x.sock");
  EXPECT_EQ(*ToGrpcTarget("localhost:7000"), "localhost:7000");
  EXPECT_EQ(*ToGrpcTarget("[::1]:7000"), "[::1]:7000");
}

TEST(ToGrpcTargetTest, Errors) {
  EXPECT_THAT(ToGrpcTarget("localhost").status().message(),
              HasSubstr("bad server address \"localhost\": no port"));
  EXPECT_FALSE(ToGrpcTarget("unix:").ok());
  EXPECT_FALSE(ToGrpcTarget("host:0").ok());
  EXPECT_FALSE(ToGrpcTarget("host:65536").ok());
  EXPECT_FALSE(ToGrpcTarget("host:http").ok());
  EXPECT_FALSE(ToGrpcTarget(":7000").ok());
}

TEST(ServerTargetTest, ChoosesThenChecks) {
  EXPECT_EQ(*ServerTarget("/run/x.sock", "unix:/b", nullptr), "unix:/run/x.sock");
  EXPECT_EQ(*ServerTarget("", nullptr, "/"), "unix:/clownixd.sock");
  EXPECT_EQ(ServerTarget("", "nohost", nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace clownix::clients
