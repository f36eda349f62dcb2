#include "common/guest_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::common {
namespace {

MATCHER_P(InvalidWith, text, "") {
  return arg.code() == absl::StatusCode::kInvalidArgument &&
         std::string(arg.message()).find(text) != std::string::npos;
}

GuestConfig Router() {
  GuestConfig config;
  config.files.push_back({"/etc/frr/frr.conf", "router ospf\n", 0640});
  config.sysctls = {{"net.ipv4.conf.all.rp_filter", "0"}, {"net.ipv4.ip_forward", "1"}};
  config.addresses = {{1, "10.0.1.1/24"}, {2, "fd00:2::1/64"}};
  config.startup = "systemctl start frr\n";
  return config;
}

TEST(GuestConfigTest, AcceptsARouter) {
  EXPECT_TRUE(ValidateGuestConfig(Router(), 3, true).ok());
  EXPECT_TRUE(ValidateGuestConfig(GuestConfig{}, 1, true).ok());
}

TEST(GuestConfigTest, PathsMustBeAbsolutePlainAndOutsideTheMountedTrees) {
  EXPECT_TRUE(ValidateGuestFilePath("p", "/etc/hosts").ok());
  EXPECT_TRUE(ValidateGuestFilePath("p", "/runner/x").ok());
  EXPECT_THAT(ValidateGuestFilePath("p", "etc/hosts"), InvalidWith("p: \"etc/hosts\" is not abs"));
  EXPECT_THAT(ValidateGuestFilePath("p", "/etc/../root/x"), InvalidWith("not plain"));
  EXPECT_THAT(ValidateGuestFilePath("p", "/etc//x"), InvalidWith("not plain"));
  EXPECT_THAT(ValidateGuestFilePath("p", "/etc/"), InvalidWith("not plain"));
  EXPECT_THAT(ValidateGuestFilePath("p", "/"), InvalidWith("directory"));
  EXPECT_THAT(ValidateGuestFilePath("p", "/proc/sys/x"), InvalidWith("under /proc"));
  EXPECT_THAT(ValidateGuestFilePath("p", "/run"), InvalidWith("under /run"));
  EXPECT_THAT(ValidateGuestFilePath("p", std::string("/a\nb")), InvalidWith("NUL or newline"));
}

TEST(GuestConfigTest, ModesAreOctal) {
  EXPECT_EQ(*ParseFileMode("m", "0644"), 0644u);
  EXPECT_EQ(*ParseFileMode("m", "755"), 0755u);
  EXPECT_EQ(*ParseFileMode("m", "4755"), 04755u);
  EXPECT_THAT(ParseFileMode("m", "0968").status(), InvalidWith("m: \"0968\" is not an octal"));
  EXPECT_THAT(ParseFileMode("m", "").status(), InvalidWith("not an octal"));
  EXPECT_THAT(ParseFileMode("m", "17777").status(), InvalidWith("not an octal"));
  EXPECT_THAT(ParseFileMode("m", "rw-r--r--").status(), InvalidWith("not an octal"));
}

TEST(GuestConfigTest, CidrsNeedAnAddressAndAPrefix) {
  EXPECT_TRUE(ValidateCidr("c", "10.0.0.1/8").ok());
  EXPECT_TRUE(ValidateCidr("c", "fe80::1/64").ok());
  EXPECT_TRUE(ValidateCidr("c", "::/0").ok());
  EXPECT_THAT(ValidateCidr("c", "10.0.0.1"), InvalidWith("needs a prefix length 0..32"));
  EXPECT_THAT(ValidateCidr("c", "10.0.0.1/33"), InvalidWith("0..32"));
  EXPECT_THAT(ValidateCidr("c", "fd00::1/129"), InvalidWith("0..128"));
  EXPECT_THAT(ValidateCidr("c", "10.0.0.1/+8"), InvalidWith("prefix length"));
  EXPECT_THAT(ValidateCidr("c", "10.0.0.1/24/8"), InvalidWith("prefix length"));
  EXPECT_THAT(ValidateCidr("c", "10.0.0.300/24"), InvalidWith("not an IPv4 or IPv6"));
  EXPECT_THAT(ValidateCidr("c", "eth1"), InvalidWith("not an IPv4 or IPv6"));
}

TEST(GuestConfigTest, EachFieldIsNamedInItsError) {
  GuestConfig config = Router();
  config.files[0].path = "etc/frr";
  EXPECT_THAT(ValidateGuestConfig(config, 3, true), InvalidWith("files[0].path: "));

  config = Router();
  config.sysctls.push_back({"net ipv4", "1"});
  EXPECT_THAT(ValidateGuestConfig(config, 3, true), InvalidWith("sysctls[\"net ipv4\"]: not a"));

  config = Router();
  config.sysctls[0].second = "1\n2";
  EXPECT_THAT(ValidateGuestConfig(config, 3, true), InvalidWith("newline"));

  config = Router();
  config.addresses.push_back({3, "10.0.3.1/24"});
  EXPECT_THAT(ValidateGuestConfig(config, 3, true),
              InvalidWith("addresses[2].nic: the VM has no eth3: it has 3 NICs (eth0-eth2)"));

  config = Router();
  config.addresses[1].cidr = "10.0.2.1";
  EXPECT_THAT(ValidateGuestConfig(config, 3, true), InvalidWith("addresses[1].cidr: "));
}

TEST(GuestConfigTest, Eth0IsTheServersUnlessTheVmHasNoAdminNetwork) {
  GuestConfig config;
  config.addresses = {{0, "10.0.0.1/24"}};
  EXPECT_THAT(ValidateGuestConfig(config, 2, true), InvalidWith("eth0 is the admin NIC"));
  EXPECT_TRUE(ValidateGuestConfig(config, 2, false).ok());
}

TEST(GuestConfigTest, SizesAreBounded) {
  GuestConfig config;
  config.startup = std::string(kMaxGuestConfigBytes - 10, '#');
  EXPECT_TRUE(ValidateGuestConfig(config, 1, true).ok());
  config.files.push_back({"/etc/big", std::string(11, 'x'), 0644});
  EXPECT_THAT(ValidateGuestConfig(config, 1, true), InvalidWith("at most 262144"));
  config.files.clear();
  config.shutdown = std::string(11, '#');  // the shutdown script counts too
  EXPECT_THAT(ValidateGuestConfig(config, 1, true), InvalidWith("the files and the scripts hold"));

  config = GuestConfig{};
  for (size_t i = 0; i <= kMaxGuestFiles; ++i) config.files.push_back({"/etc/f", "", 0644});
  EXPECT_THAT(ValidateGuestConfig(config, 1, true), InvalidWith("257 files, at most 256"));
}

}  // namespace
}  // namespace clownix::common
