#include "clients/cli/values.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

TEST(ParseLabelsTest, KeyValuePairs) {
  auto labels = ParseLabels({"role=router", "zone=a=b", "empty="});
  ASSERT_TRUE(labels.ok());
  EXPECT_THAT(*labels,
              UnorderedElementsAre(Pair("role", "router"), Pair("zone", "a=b"), Pair("empty", "")));
}

TEST(ParseLabelsTest, RejectsMissingKeyOrEquals) {
  EXPECT_THAT(ParseLabels({"role"}).status().message(), HasSubstr("bad label \"role\""));
  EXPECT_EQ(ParseLabels({"=x"}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseLabelsTest, RejectsDuplicateKey) {
  EXPECT_THAT(ParseLabels({"a=1", "a=2"}).status().message(), HasSubstr("\"a\" given twice"));
}

TEST(ParseNicIndexTest, EthOrNumber) {
  EXPECT_EQ(*ParseNicIndex("eth1"), 1u);
  EXPECT_EQ(*ParseNicIndex("7"), 7u);
  EXPECT_EQ(*ParseNicIndex("eth0"), 0u);
  for (const char* bad : {"eth", "ethx", "-1", "1a", "", "eth 1", "99999999999"}) {
    EXPECT_EQ(ParseNicIndex(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ParseEndpointTest, VmAndNicAsTwoWords) {
  size_t used = 0;
  auto endpoint = ParseEndpoint({"vm1", "eth2", "lan1"}, &used);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(used, 2u);
  EXPECT_EQ(endpoint->nic().vm(), "vm1");
  EXPECT_EQ(endpoint->nic().index(), 2u);
}

TEST(ParseEndpointTest, VmSlashNic) {
  size_t used = 0;
  auto endpoint = ParseEndpoint({"vm1/3", "lan1"}, &used);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(used, 1u);
  EXPECT_EQ(endpoint->nic().vm(), "vm1");
  EXPECT_EQ(endpoint->nic().index(), 3u);
}

TEST(ParseEndpointTest, Tap) {
  size_t used = 0;
  auto endpoint = ParseEndpoint({"tap:t0", "lan1"}, &used);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(used, 1u);
  EXPECT_EQ(endpoint->tap(), "t0");
  EXPECT_FALSE(endpoint->has_nic());
}

TEST(ParseEndpointTest, Errors) {
  size_t used = 0;
  EXPECT_THAT(ParseEndpoint({}, &used).status().message(), HasSubstr("missing endpoint"));
  EXPECT_THAT(ParseEndpoint({"vm1"}, &used).status().message(),
              HasSubstr("missing NIC after VM \"vm1\""));
  EXPECT_THAT(ParseEndpoint({"tap:"}, &used).status().message(), HasSubstr("missing tap name"));
  EXPECT_THAT(ParseEndpoint({"/eth1"}, &used).status().message(), HasSubstr("missing VM"));
  EXPECT_THAT(ParseEndpoint({"vm1", "lan1"}, &used).status().message(),
              HasSubstr("bad NIC \"lan1\""));
}

TEST(ParseNumbersTest, Uint) {
  EXPECT_EQ(*ParseUint32("--mem", "128"), 128u);
  EXPECT_THAT(ParseUint32("--mem", "12x").status().message(), HasSubstr("--mem: \"12x\""));
  EXPECT_FALSE(ParseUint32("--mem", "-1").ok());
  EXPECT_FALSE(ParseUint32("--mem", "4294967296").ok());
  EXPECT_EQ(*ParseUint64("--since", "4294967296"), 4294967296u);
  EXPECT_FALSE(ParseUint64("--since", "").ok());
}

TEST(ParseDurationTest, UnitsRequired) {
  EXPECT_EQ(*ParseDurationUs("--delay", "10ms"), 10000u);
  EXPECT_EQ(*ParseDurationUs("--delay", "1.5s"), 1500000u);
  EXPECT_EQ(*ParseDurationUs("--delay", "250us"), 250u);
  EXPECT_EQ(*ParseDurationUs("--delay", "0"), 0u);
  EXPECT_EQ(*ParseDurationMs("--timeout", "2m"), 120000u);
  EXPECT_THAT(ParseDurationUs("--delay", "10").status().message(),
              HasSubstr("--delay: bad duration \"10\""));
  EXPECT_FALSE(ParseDurationUs("--delay", "-5ms").ok());
  EXPECT_FALSE(ParseDurationUs("--delay", "inf").ok());
  EXPECT_THAT(ParseDurationUs("--delay", "2h").status().message(), HasSubstr("too large"));
}

TEST(ParsePercentTest, WithOrWithoutSign) {
  EXPECT_DOUBLE_EQ(*ParsePercent("--loss", "5"), 5.0);
  EXPECT_DOUBLE_EQ(*ParsePercent("--loss", "0.5%"), 0.5);
  EXPECT_FALSE(ParsePercent("--loss", "%").ok());
  EXPECT_FALSE(ParsePercent("--loss", "five").ok());
  EXPECT_FALSE(ParsePercent("--loss", "nan").ok());
}

TEST(ParseRateTest, Units) {
  EXPECT_EQ(*ParseRateKbps("--rate", "100"), 100u);
  EXPECT_EQ(*ParseRateKbps("--rate", "500kbit"), 500u);
  EXPECT_EQ(*ParseRateKbps("--rate", "10Mbit"), 10000u);
  EXPECT_EQ(*ParseRateKbps("--rate", "1gbit"), 1000000u);
  EXPECT_FALSE(ParseRateKbps("--rate", "mbit").ok());
  EXPECT_FALSE(ParseRateKbps("--rate", "10mb").ok());
  EXPECT_FALSE(ParseRateKbps("--rate", "99999999999999999gbit").ok());
}

TEST(ParseLanModeTest, SwitchOrHub) {
  EXPECT_EQ(*ParseLanMode("switch"), v1::LAN_MODE_SWITCH);
  EXPECT_EQ(*ParseLanMode("hub"), v1::LAN_MODE_HUB);
  EXPECT_THAT(ParseLanMode("bridge").status().message(), HasSubstr("\"bridge\""));
}

}  // namespace
}  // namespace clownix::cli
