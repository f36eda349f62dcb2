#include "switchcore/tap_device.h"

#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gtest/gtest.h"

namespace clownix::switchcore {
namespace {

TEST(TapDeviceTest, ValidatesNames) {
  EXPECT_TRUE(TapDevice::ValidateName("tap0").ok());
  EXPECT_TRUE(TapDevice::ValidateName("clx-1.a_b").ok());
  for (const char* bad : {"", "0123456789abcdef", "a b", "a/b", "tap\n"}) {
    EXPECT_EQ(TapDevice::ValidateName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// Taps are made in a network namespace of the test's own: nothing appears on the host.
class TapDeviceNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "no network namespace: " << strerror(errno);
  }
};

TEST_F(TapDeviceNetnsTest, CreatesPassesFramesAndRefusesABusyName) {
  auto tap = TapDevice::Create("tdt0");
  ASSERT_TRUE(tap.ok()) << tap.status();
  EXPECT_GE((*tap)->fd(), 0);
  EXPECT_EQ((*tap)->name(), "tdt0");
  // The same name while attached: busy.
  EXPECT_EQ(TapDevice::Create("tdt0").status().code(), absl::StatusCode::kFailedPrecondition);
  // A name taken by a non-tap interface.
  EXPECT_EQ(TapDevice::Create("lo").status().code(), absl::StatusCode::kFailedPrecondition);
  // Non-blocking: nothing to read on a fresh tap that is down.
  char buf[2048];
  EXPECT_LT(read((*tap)->fd(), buf, sizeof(buf)), 0);
  EXPECT_EQ(errno, EAGAIN);
}

}  // namespace
}  // namespace clownix::switchcore
