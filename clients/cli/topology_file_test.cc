#include "clients/cli/topology_file.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

using ::testing::HasSubstr;

TEST(ParseTopologyJsonTest, ParsesANetwork) {
  auto network = ParseTopologyJson(R"({
    "lans": [{"name": "lan1", "mode": "LAN_MODE_HUB"}],
    "vms": [{"name": "vm1", "nicCount": 2, "memMib": 96, "labels": {"role": "host"}}],
    "taps": [{"name": "t0"}],
    "links": [{"endpoint": {"nic": {"vm": "vm1", "index": 1}}, "lan": "lan1",
               "toLan": {"delayUs": 1000, "lossPercent": 2.5}},
              {"endpoint": {"tap": "t0"}, "lan": "lan1"}]
  })",
                                   "net.json");
  ASSERT_TRUE(network.ok()) << network.status();
  ASSERT_EQ(network->vms_size(), 1);
  EXPECT_EQ(network->vms(0).nic_count(), 2u);
  EXPECT_EQ(network->vms(0).mem_mib(), 96u);
  EXPECT_EQ(network->vms(0).labels().at("role"), "host");
  EXPECT_EQ(network->lans(0).mode(), v1::LAN_MODE_HUB);
  ASSERT_EQ(network->links_size(), 2);
  EXPECT_EQ(network->links(0).endpoint().nic().index(), 1u);
  EXPECT_EQ(network->links(0).to_lan().delay_us(), 1000u);
  EXPECT_DOUBLE_EQ(network->links(0).to_lan().loss_percent(), 2.5);
  EXPECT_EQ(network->links(1).endpoint().tap(), "t0");
}

TEST(ParseTopologyJsonTest, AdminIsOptional) {
  auto network = ParseTopologyJson(
      R"({"vms": [{"name": "vm1", "admin": false}, {"name": "vm2", "admin": true}, {"name": "vm3"}]})",
      "f");
  ASSERT_TRUE(network.ok()) << network.status();
  ASSERT_EQ(network->vms_size(), 3);
  EXPECT_TRUE(network->vms(0).has_admin());
  EXPECT_FALSE(network->vms(0).admin());
  EXPECT_TRUE(network->vms(1).has_admin() && network->vms(1).admin());
  EXPECT_FALSE(network->vms(2).has_admin());  // the server decides: its default, or unchanged
}

TEST(ParseTopologyJsonTest, ImageIsOptionalAndAMisspelledOneIsAnError) {
  auto network =
      ParseTopologyJson(R"({"vms": [{"name": "r1", "image": "debian"}, {"name": "h1"}]})", "f");
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_EQ(network->vms(0).image(), "debian");
  EXPECT_EQ(network->vms(1).image(), "");  // the server decides: its default, or unchanged
  auto typo = ParseTopologyJson(R"({"vms": [{"name": "r1", "imgae": "debian"}]})", "net.json");
  EXPECT_EQ(typo.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(typo.status().message(), HasSubstr("imgae"));
}

TEST(ParseTopologyJsonTest, AcceptsProtoFieldNames) {
  auto network = ParseTopologyJson(R"({"vms": [{"name": "vm1", "nic_count": 3}]})", "f");
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_EQ(network->vms(0).nic_count(), 3u);
}

TEST(ParseTopologyJsonTest, UnknownFieldIsAnErrorNamingTheFile) {
  auto network = ParseTopologyJson(R"({"vms": [{"name": "vm1", "nics": 3}]})", "net.json");
  EXPECT_EQ(network.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(network.status().message(), HasSubstr("net.json"));
  EXPECT_THAT(network.status().message(), HasSubstr("nics"));
}

TEST(ParseTopologyJsonTest, MalformedJson) {
  auto network = ParseTopologyJson(R"({"vms": [)", "net.json");
  EXPECT_EQ(network.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(network.status().message(), HasSubstr("net.json: not a clownix.v1.Network"));
}

TEST(ParseTopologyJsonTest, WrongTypeAndEmpty) {
  EXPECT_FALSE(ParseTopologyJson(R"({"vms": [{"name": ["vm1"]}]})", "f").ok());
  EXPECT_FALSE(ParseTopologyJson(R"({"vms": [{"memMib": "lots"}]})", "f").ok());
  EXPECT_THAT(ParseTopologyJson("  \n", "f").status().message(), HasSubstr("empty"));
}

TEST(ReadTopologyFileTest, ReadsAFile) {
  std::string path = std::string(getenv("TEST_TMPDIR")) + "/net.json";
  std::ofstream(path) << R"({"lans": [{"name": "lan1"}]})";
  auto network = ReadTopologyFile(path);
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_EQ(network->lans(0).name(), "lan1");
}

TEST(ReadTopologyFileTest, MissingFile) {
  auto network = ReadTopologyFile("/nonexistent/net.json");
  EXPECT_EQ(network.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(network.status().message(),
              HasSubstr("cannot read the topology file: open /nonexistent/net.json: No such file"));
}

}  // namespace
}  // namespace clownix::cli
