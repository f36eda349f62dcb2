#include "server/switch_incarnation.h"

#include <sys/stat.h>

#include <cstdlib>

#include "common/file_io.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

std::string FreshDir() {
  std::string base = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
  std::string dir =
      base + "/incarnation-" + testing::UnitTest::GetInstance()->current_test_info()->name();
  std::string cmd = "rm -rf '" + dir + "' && mkdir -p '" + dir + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
  return dir;
}

TEST(NextSwitchIncarnation, EachStartGetsItsOwnRange) {
  std::string dir = FreshDir();
  EXPECT_EQ(NextSwitchIncarnation(dir).value(), 4096u);
  EXPECT_EQ(NextSwitchIncarnation(dir).value(), 2 * 4096u);
  EXPECT_EQ(common::ReadFile(dir + "/switch.incarnation").value(), "2\n");
}

TEST(NextSwitchIncarnation, WrapsAfter4096Starts) {
  std::string dir = FreshDir();
  ASSERT_TRUE(common::WriteFileDurably(dir + "/switch.incarnation", "4095\n").ok());
  EXPECT_EQ(NextSwitchIncarnation(dir).value(), 0u);
}

TEST(NextSwitchIncarnation, AFileThatIsNotACountIsReported) {
  std::string dir = FreshDir();
  ASSERT_TRUE(common::WriteFileDurably(dir + "/switch.incarnation", "garbage").ok());
  absl::StatusOr<uint32_t> next = NextSwitchIncarnation(dir);
  EXPECT_EQ(next.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(next.status().message().find("switch.incarnation"), std::string::npos);
}

TEST(NextSwitchIncarnation, AWriteThatFailsIsReported) {
  std::string dir = FreshDir() + "/missing";  // no such directory
  EXPECT_FALSE(NextSwitchIncarnation(dir).ok());
}

}  // namespace
}  // namespace clownix::server
