#include "common/seed_rules.h"

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace clownix::common {
namespace {

TEST(SeedRulesTest, NamesAcceptTheAlphabet) {
  EXPECT_TRUE(ValidateName("vm", "a").ok());
  EXPECT_TRUE(ValidateName("vm", "0router_1-b").ok());
  EXPECT_TRUE(ValidateName("vm", std::string(kMaxNameLength, 'x')).ok());
}

TEST(SeedRulesTest, NamesRejectWithAMessageNamingTheThing) {
  for (const char* bad :
       {"", "A", "R2", "-x", "_x", "a b", "a/b", "a.b", "..", "x\n", "$(id)", "\xc3\xa9", "x;rm"}) {
    absl::Status s = ValidateName("lan", bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("lan name"), std::string::npos) << s;
  }
  EXPECT_FALSE(ValidateName("vm", std::string(kMaxNameLength + 1, 'x')).ok());
}

TEST(SeedRulesTest, TapNamesFitAnInterfaceName) {
  EXPECT_TRUE(ValidateTapName(std::string(15, 't')).ok());
  EXPECT_EQ(ValidateTapName(std::string(16, 't')).code(), absl::StatusCode::kInvalidArgument);
}

TEST(SeedRulesTest, MacFollowsTheSeedRule) {
  EXPECT_EQ(*VmMac(123, 1), "02:00:01:23:00:01");
  EXPECT_EQ(*VmMac(1, 0), "02:00:00:01:00:00");
  EXPECT_EQ(*VmMac(9999, 7), "02:00:99:99:00:07");
}

TEST(SeedRulesTest, MacRejectsOutOfRange) {
  EXPECT_EQ(VmMac(0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VmMac(10000, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VmMac(1, 8).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VmMac(1, -1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SeedRulesTest, ParseVmMacIsTheInverseOfVmMac) {
  for (int vm : {1, 9, 10, 99, 100, 123, 4567, 9999}) {
    for (int eth = 0; eth < kMaxNics; ++eth) {
      std::array<uint8_t, 6> mac = {0x02,
                                    0x00,
                                    static_cast<uint8_t>((vm / 1000) << 4 | vm / 100 % 10),
                                    static_cast<uint8_t>((vm / 10 % 10) << 4 | vm % 10),
                                    0x00,
                                    static_cast<uint8_t>(eth)};
      std::optional<VmNic> nic = ParseVmMac(mac);
      ASSERT_TRUE(nic.has_value()) << vm << "/" << eth;
      EXPECT_EQ(nic->vm, vm);
      EXPECT_EQ(nic->eth, eth);
      EXPECT_EQ(*VmMac(nic->vm, nic->eth), absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
                                                           mac[1], mac[2], mac[3], mac[4], mac[5]));
    }
  }
}

TEST(SeedRulesTest, ParseVmMacRejectsOtherMacs) {
  using Mac = std::array<uint8_t, 6>;
  for (const Mac& mac :
       {Mac{0x52, 0x54, 0, 0x12, 0x34, 0x56}, Mac{0x02, 0, 0x0a, 1, 0, 1}, Mac{0x02, 0, 0, 1, 1, 1},
        Mac{0x02, 0, 0, 0, 0, 1}, Mac{0x02, 0, 0, 1, 0, 8}, Mac{0x02, 0, 0, 1, 0, 0x10}}) {
    EXPECT_FALSE(ParseVmMac(mac).has_value());
  }
}

TEST(SeedRulesTest, AdminIpFollowsTheSeedRule) {
  EXPECT_EQ(*AdminIp("1.1", 123), "1.1.1.23");
  EXPECT_EQ(*AdminIp("10.0", 7), "10.0.0.7");
  EXPECT_EQ(*AdminIp("10.0", 9999), "10.0.99.99");
  EXPECT_EQ(AdminIp("10.0", 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SeedRulesTest, AdminIpRejectsBadPrefix) {
  for (const char* bad : {"", "1", "1.2.3", "256.1", "a.b", "1.-2", "1..", "01234.1", " 1.1"}) {
    EXPECT_EQ(AdminIp(bad, 1).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// Found by names_fuzzer: "05.0" was accepted, and "010.0" would give admin IPs that inet_aton
// and ip(8) read as octal (8.0.x.y).
TEST(SeedRulesTest, AdminPrefixRejectsLeadingZeros) {
  for (const char* bad : {"05.0", "010.0", "10.00", "00.1"}) {
    EXPECT_EQ(ValidateAdminPrefix(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ValidateAdminPrefix("0.0").ok());
  EXPECT_TRUE(ValidateAdminPrefix("10.0").ok());
  EXPECT_TRUE(ValidateAdminPrefix("255.100").ok());
}

TEST(SeedRulesTest, Limits) {
  EXPECT_TRUE(ValidateMemMib("vm \"a\"", kMinMemMib).ok());
  EXPECT_TRUE(ValidateMemMib("vm \"a\"", kMaxMemMib).ok());
  absl::Status low = ValidateMemMib("vm \"a\"", kMinMemMib - 1);
  EXPECT_EQ(low.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(low.message().find("vm \"a\": mem_mib 47"), std::string::npos) << low;
  EXPECT_FALSE(ValidateMemMib("vm \"a\"", kMaxMemMib + 1).ok());
  EXPECT_TRUE(ValidateNicIndex(0).ok());
  EXPECT_FALSE(ValidateNicIndex(kMaxNics).ok());
}

TEST(SeedRulesTest, AChosenMacIsUnicastNotZeroAndNotTheSeeds) {
  EXPECT_EQ(ParseChosenMac("02:42:0A:00:00:01").value_or(""), "02:42:0a:00:00:01");
  for (const char* bad : {"02:42:0a:00:00", "02:42:0a:00:00:01:02", "02-42-0a-00-00-01",
                          "02:42:0a:00:00:1", "02:42:0a:00:00:0g", ""}) {
    absl::StatusOr<std::string> mac = ParseChosenMac(bad);
    EXPECT_EQ(mac.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(mac.status().message().find("is not six bytes"), std::string::npos) << mac.status();
  }
  EXPECT_NE(ParseChosenMac("01:00:5e:00:00:01").status().message().find("multicast"),
            std::string::npos);
  EXPECT_NE(ParseChosenMac("00:00:00:00:00:00").status().message().find("all zeros"),
            std::string::npos);
  // The seed's MAC of vm 1's eth1 names that VM's NIC: nobody may take it.
  absl::StatusOr<std::string> seed = ParseChosenMac(VmMac(1, 1).value());
  EXPECT_NE(seed.status().message().find("seed's MACs"), std::string::npos) << seed.status();
}

}  // namespace
}  // namespace clownix::common
