#include "clients/cli/lab/lab_conf.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(LabConfTest, KatharaForms) {
  absl::StatusOr<LabConf> conf = ParseLabConf(
      "# a comment\n"
      "\n"
      "LAB_NAME=\"ospf lab\"\n"
      "LAB_AUTHOR='someone'\n"
      "r1[0]=\"A\"\n"
      "r1[1]=B/02:42:0A:00:00:01\n"
      "   r1[image]=\"kathara/frr\"   # the router\n"
      "r1[exec]='echo \"hi\"'\n"
      "r1[exec]=ip addr\n"
      "h1[0] = 'A'\r\n",
      "lab.conf");
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_THAT(conf->warnings, IsEmpty());
  EXPECT_EQ(conf->metadata.at("LAB_NAME").second, "ospf lab");
  EXPECT_EQ(conf->metadata.at("LAB_NAME").first, 3);
  EXPECT_EQ(conf->metadata.at("LAB_AUTHOR").second, "someone");
  ASSERT_EQ(conf->machines.size(), 2u);
  const ConfMachine& r1 = conf->machines[0];
  EXPECT_EQ(r1.name, "r1");
  EXPECT_EQ(r1.first_line, 5);
  EXPECT_EQ(r1.interfaces.at(0).domain, "A");
  EXPECT_EQ(r1.interfaces.at(1).domain, "B");
  EXPECT_EQ(r1.interfaces.at(1).mac, "02:42:0a:00:00:01");
  ASSERT_EQ(r1.options.size(), 3u);
  EXPECT_EQ(r1.options[0].name, "image");
  EXPECT_EQ(r1.options[0].value, "kathara/frr");
  EXPECT_EQ(r1.options[1].value, "echo \"hi\"");
  EXPECT_EQ(r1.options[2].value, "ip addr");
  EXPECT_EQ(r1.options[2].line, 9);
  EXPECT_EQ(conf->machines[1].interfaces.at(0).domain, "A");
}

TEST(LabConfTest, NetkitForms) {
  absl::StatusOr<LabConf> conf = ParseLabConf(
      "PC1[0]=LAN1\n"
      "PC1[mem]=64\n"
      "PC1[con0]=xterm\n"
      "router-a[1]=tap,10.0.0.1,10.0.0.2\n",
      "lab.conf");
  ASSERT_TRUE(conf.ok()) << conf.status();
  ASSERT_EQ(conf->machines.size(), 2u);
  EXPECT_EQ(conf->machines[0].name, "PC1");
  EXPECT_EQ(conf->machines[0].options[0].name, "mem");
  const ConfInterface& tap = conf->machines[1].interfaces.at(1);
  EXPECT_TRUE(tap.netkit_tap);
  EXPECT_EQ(tap.tap_host_ip, "10.0.0.1");
  EXPECT_EQ(tap.tap_guest_ip, "10.0.0.2");
}

TEST(LabConfTest, LinesThatMatchNothingAreWarningsWithTheirLine) {
  absl::StatusOr<LabConf> conf = ParseLabConf(
      "r1[0]=A\n"
      "this is not a line\n"
      "LAB_COLOUR=blue\n"
      "r1[exec]=\"unclosed\n"
      "=x\n",
      "lab.conf");
  ASSERT_TRUE(conf.ok()) << conf.status();
  ASSERT_EQ(conf->warnings.size(), 4u);
  EXPECT_THAT(conf->warnings[0], HasSubstr("lab.conf:2: "));
  EXPECT_THAT(conf->warnings[1], HasSubstr("lab.conf:3: unknown lab metadata LAB_COLOUR"));
  EXPECT_THAT(conf->warnings[2], HasSubstr("lab.conf:4: "));
  EXPECT_THAT(conf->warnings[3], HasSubstr("lab.conf:5: "));
}

TEST(LabConfTest, ErrorsNameTheLine) {
  EXPECT_THAT(ParseLabConf("r1[0]=A\nr1[8]=B\n", "lab.conf").status().message(),
              HasSubstr("lab.conf:2: r1[8]: interface index 8 is out of range"));
  EXPECT_THAT(ParseLabConf("r1[0]=A\nr1[0]=B\n", "lab.conf").status().message(),
              HasSubstr("lab.conf:2: r1[0] is already set on line 1"));
  EXPECT_THAT(ParseLabConf("r1[0]=a.b\n", "lab.conf").status().message(),
              HasSubstr("lab.conf:1: r1[0]: collision domain \"a.b\""));
  EXPECT_THAT(ParseLabConf("r1[0]=A/02:42\n", "lab.conf").status().message(),
              HasSubstr("is not a MAC address"));
  EXPECT_THAT(ParseLabConf("r1[0]=tap,1.2.3.4\n", "lab.conf").status().message(),
              HasSubstr("tap,HOST_IP,GUEST_IP"));
}

TEST(LabConfTest, MachinesKeepTheOrderOfFirstAppearance) {
  absl::StatusOr<LabConf> conf = ParseLabConf("b[0]=A\na[0]=A\nb[1]=B\n", "lab.conf");
  ASSERT_TRUE(conf.ok());
  ASSERT_EQ(conf->machines.size(), 2u);
  EXPECT_EQ(conf->machines[0].name, "b");
  EXPECT_EQ(conf->machines[1].name, "a");
}

}  // namespace
}  // namespace clownix::cli
