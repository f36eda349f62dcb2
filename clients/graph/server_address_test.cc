#include "clients/graph/server_address.h"

#include "gtest/gtest.h"

namespace clownix::graph {
namespace {

TEST(ServerAddressTest, Precedence) {
  EXPECT_EQ(*ServerTarget("unix:/a.sock", "unix:/b.sock", "/c"), "unix:/a.sock");
  EXPECT_EQ(*ServerTarget("", "unix:/b.sock", "/c"), "unix:/b.sock");
  EXPECT_EQ(*ServerTarget("", "", "/c/"), "unix:/c/clownixd.sock");
  EXPECT_EQ(*ServerTarget("", nullptr, "/"), "unix:/clownixd.sock");
  EXPECT_EQ(*ServerTarget("", nullptr, nullptr), "unix:/tmp/clownix/clownixd.sock");
}

TEST(ServerAddressTest, Forms) {
  EXPECT_EQ(*ServerTarget("/run/x.sock", nullptr, nullptr), "unix:/run/x.sock");
  EXPECT_EQ(*ServerTarget("localhost:7000", nullptr, nullptr), "localhost:7000");
  EXPECT_EQ(*ServerTarget("[::1]:7000", nullptr, nullptr), "[::1]:7000");
}

TEST(ServerAddressTest, BadAddressesAreInvalidAndQuoted) {
  for (const char* bad : {"unix:", "localhost", "localhost:0", "host:99999", ":80", "h:port"}) {
    absl::StatusOr<std::string> target = ServerTarget(bad, nullptr, nullptr);
    ASSERT_FALSE(target.ok()) << bad;
    EXPECT_EQ(target.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(target.status().message().find(bad), absl::string_view::npos);
  }
}

}  // namespace
}  // namespace clownix::graph
