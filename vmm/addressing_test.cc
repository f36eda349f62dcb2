#include "vmm/addressing.h"

#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

TEST(AddressingTest, MacFollowsTheSeedRule) {
  EXPECT_EQ(*Addressing::Mac(123, 1), "02:00:01:23:00:01");
  EXPECT_EQ(*Addressing::Mac(1, 0), "02:00:00:01:00:00");
  EXPECT_EQ(*Addressing::Mac(9999, 7), "02:00:99:99:00:07");
}

TEST(AddressingTest, MacRejectsOutOfRange) {
  EXPECT_EQ(Addressing::Mac(0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Addressing::Mac(10000, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Addressing::Mac(1, 8).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Addressing::Mac(1, -1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AddressingTest, AdminIpFollowsTheSeedRule) {
  EXPECT_EQ(*Addressing::AdminIp("1.1", 123), "1.1.1.23");
  EXPECT_EQ(*Addressing::AdminIp("10.0", 7), "10.0.0.7");
  EXPECT_EQ(*Addressing::AdminIp("10.0", 9999), "10.0.99.99");
}

TEST(AddressingTest, AdminIpRejectsBadPrefix) {
  for (const char* bad : {"", "1", "1.2.3", "256.1", "a.b", "1.-2", "1..", "01234.1", " 1.1"}) {
    EXPECT_EQ(Addressing::AdminIp(bad, 1).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(AddressingTest, Names) {
  EXPECT_TRUE(Addressing::ValidateName("vm1").ok());
  EXPECT_TRUE(Addressing::ValidateName("R2-d_2").ok());
  for (const char* bad : {"", "-x", "a b", "a/b", "a;rm", "..", "x\n", "$(id)",
                          "abcdefghijklmnopqrstuvwxyz0123456"}) {
    EXPECT_EQ(Addressing::ValidateName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace clownix::vmm
