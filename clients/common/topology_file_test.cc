#include "clients/common/topology_file.h"

#include <fstream>
#include <string>

#include "common/file_io.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace clownix::clients {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string TmpFile(const std::string& name, const std::string& text) {
  std::string path = std::string(getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// The message of a refusal, which must be INVALID_ARGUMENT.
std::string Refusal(const absl::StatusOr<v1::Network>& network) {
  EXPECT_EQ(network.status().code(), absl::StatusCode::kInvalidArgument) << network.status();
  return std::string(network.status().message());
}

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
  EXPECT_THAT(Refusal(typo), HasSubstr("imgae"));
}

TEST(ParseTopologyJsonTest, AcceptsProtoFieldNames) {
  auto network = ParseTopologyJson(R"({"vms": [{"name": "vm1", "nic_count": 3}]})", "f");
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_EQ(network->vms(0).nic_count(), 3u);
}

TEST(ParseTopologyJsonTest, UnknownFieldNamesTheFileTheLineAndTheField) {
  auto network =
      ParseTopologyJson("{\"vms\": [\n  {\"name\": \"vm1\",\n   \"nic\": 3}]}", "net.json");
  EXPECT_THAT(Refusal(network),
              StartsWith("net.json:3:4: vms[0].nic: unknown field; a Vm has: name, number, "));
}

TEST(ParseTopologyJsonTest, WrongTypeNamesTheLineAndTheField) {
  auto network = ParseTopologyJson(
      "{\"vms\": [{\"name\": \"vm1\"},\n          {\"name\": \"vm2\", \"nic_count\": \"two\"}]}",
      "net.json");
  EXPECT_EQ(Refusal(network), "net.json:2:40: vms[1].nic_count: expected an integer, got \"two\"");
  EXPECT_EQ(Refusal(ParseTopologyJson("{\"vms\": [{\"name\": [\"vm1\"]}]}", "f")),
            "f:1:19: vms[0].name: expected a string, got a list");
  EXPECT_THAT(
      Refusal(ParseTopologyJson("{\"lans\": [{\"name\": \"a\",\n \"mode\": \"HUB\"}]}", "f")),
      StartsWith("f:2:10: lans[0].mode: expected one of LAN_MODE_UNSPECIFIED, "));
}

TEST(ParseTopologyJsonTest, WhatOnlyTheParserRefusesIsLocatedByItsPath) {
  // 5000000000 is past uint32 for protobuf; the check leaves numbers in strings to it.
  auto network =
      ParseTopologyJson("{\"vms\": [\n {\"name\": \"a\", \"memMib\": \"5000000000\"}]}", "f");
  EXPECT_THAT(Refusal(network), StartsWith("f:2:26: vms[0].mem_mib: invalid value"));
}

TEST(ParseTopologyJsonTest, MalformedJsonHasItsLine) {
  EXPECT_EQ(Refusal(ParseTopologyJson("{\"vms\": [\n  {\"name\": \"a\"}\n  {\"name\": \"b\"}]}",
                                      "net.json")),
            "net.json:3:3: malformed JSON: Expected , or ] after array value.");
  EXPECT_THAT(Refusal(ParseTopologyJson("{\"vms\": [", "net.json")),
              StartsWith("net.json:1:10: malformed JSON: Unexpected end of string."));
}

TEST(ParseTopologyJsonTest, Empty) {
  EXPECT_EQ(Refusal(ParseTopologyJson("  \n", "f")), "f: empty topology file");
}

constexpr char kJson[] = R"({
  "vms": [{"name": "r1", "nicCount": 3, "memMib": 128, "admin": false, "image": "debian",
           "labels": {"role": "router", "tier": "2"}},
          {"name": "h1"}],
  "lans": [{"name": "lan1", "mode": "LAN_MODE_HUB", "labels": {"x": "y"}}, {"name": "lan2"}],
  "taps": [{"name": "t0", "labels": {"k": "v"}}],
  "links": [{"endpoint": {"nic": {"vm": "r1", "index": 1}}, "lan": "lan1",
             "toLan": {"delayUs": 1000, "jitterUs": 10, "lossPercent": 2.5, "rateKbps": "1000000"},
             "fromLan": {"corruptPercent": 0.5}},
            {"endpoint": {"tap": "t0"}, "lan": "lan2"}]
})";

constexpr char kYaml[] = R"(# the same network
vms:
  - name: r1
    nic_count: 3
    memMib: 0x80          # YAML ints: hex is 128
    admin: false
    image: debian
    labels:
      role: router
      tier: "2"           # a string: quoted
  - &host {name: h1}
lans:
  - {name: lan1, mode: LAN_MODE_HUB, labels: {x: y}}
  - name: lan2
taps:
  - name: t0
    labels: {k: v}
links:
  - endpoint:
      nic: {vm: r1, index: 1}
    lan: lan1
    to_lan: {delay_us: 1000, jitterUs: 10, loss_percent: 2.5, rate_kbps: 1000000}
    fromLan:
      corruptPercent: .5
  - endpoint: {tap: t0}
    lan: lan2
)";

TEST(ParseTopologyYamlTest, SameNetworkAsJson) {
  auto json = ParseTopologyJson(kJson, "net.json");
  auto yaml = ParseTopologyYaml(kYaml, "net.yaml");
  ASSERT_TRUE(json.ok()) << json.status();
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*json, *yaml)) << json->DebugString() << "\n---\n"
                                                        << yaml->DebugString();
  EXPECT_FALSE(yaml->vms(0).admin());
  EXPECT_TRUE(yaml->vms(0).has_admin());
}

TEST(ParseTopologyYamlTest, DemoYamlIsDemoJson) {
  auto json = common::ReadFile("examples/demo.json");
  auto yaml = common::ReadFile("examples/demo.yaml");
  ASSERT_TRUE(json.ok() && yaml.ok());
  auto from_json = ParseTopologyJson(*json, "demo.json");
  auto from_yaml = ParseTopologyYaml(*yaml, "demo.yaml");
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.status();
  EXPECT_EQ(from_yaml->vms_size(), 3);
  EXPECT_TRUE(MessageDifferencer::Equals(*from_json, *from_yaml));
}

TEST(ParseTopologyYamlTest, AnchorsAliasesAndNullsAreValues) {
  auto network = ParseTopologyYaml(R"(
impair: &slow {delay_us: 5000}
)",
                                   "f");
  EXPECT_THAT(Refusal(network), HasSubstr("f:2:1: impair: unknown field"));
  network = ParseTopologyYaml(R"(
links:
  - {endpoint: {tap: t0}, lan: a, to_lan: &slow {delay_us: 5000}, from_lan: *slow}
taps:
lans: ~
)",
                              "f");
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_EQ(network->links(0).from_lan().delay_us(), 5000u);
  EXPECT_EQ(network->taps_size(), 0);
}

TEST(ParseTopologyYamlTest, BadTypeNamesFileLineColumnAndField) {
  auto network = ParseTopologyYaml(R"(vms:
  - name: vm1
    nic_count: 2
  - name: vm2
    nic_count: two
)",
                                   "lab.yaml");
  EXPECT_EQ(Refusal(network), "lab.yaml:5:16: vms[1].nic_count: expected an integer, got \"two\"");
  EXPECT_EQ(Refusal(ParseTopologyYaml("vms:\n  - name: 1\n", "lab.yaml")),
            "lab.yaml:2:11: vms[0].name: expected a string, got 1 (quote it: \"1\")");
  EXPECT_EQ(Refusal(ParseTopologyYaml("vms:\n  - labels: {version: 2}\n", "lab.yaml")),
            "lab.yaml:2:23: vms[0].labels.version: expected a string, got 2 (quote it: \"2\")");
  EXPECT_EQ(Refusal(ParseTopologyYaml("vms:\n  - nic_count: -1\n", "lab.yaml")),
            "lab.yaml:2:16: vms[0].nic_count: expected an integer from 0 to 4294967295, got -1");
  EXPECT_EQ(Refusal(ParseTopologyYaml("vms:\n  name: vm1\n", "lab.yaml")),
            "lab.yaml:2:3: vms: expected a list, got a map");
  EXPECT_EQ(Refusal(ParseTopologyYaml("vms: [{admin: [yes]}]\n", "lab.yaml")),
            "lab.yaml:1:15: vms[0].admin: expected true or false, got a list");
  // A string is left to JSON's parser, which takes "yes" and "no" as {"admin": "yes"} does,
  // and names the field and the place of what it refuses.
  auto yes = ParseTopologyYaml("vms: [{admin: yes}]\n", "lab.yaml");
  ASSERT_TRUE(yes.ok()) << yes.status();
  EXPECT_TRUE(yes->vms(0).admin());
  EXPECT_EQ(Refusal(ParseTopologyYaml("vms: [{admin: maybe}]\n", "lab.yaml")),
            "lab.yaml:1:15: vms[0].admin: invalid value \"maybe\" for type TYPE_BOOL");
}

TEST(ParseTopologyYamlTest, UnknownFieldIsAnError) {
  EXPECT_THAT(Refusal(ParseTopologyYaml("vms:\n  - name: vm1\n    nic: 3\n", "lab.yaml")),
              StartsWith("lab.yaml:3:5: vms[0].nic: unknown field; a Vm has: name, number, "));
  EXPECT_THAT(Refusal(ParseTopologyYaml("vm: []\n", "lab.yaml")),
              StartsWith("lab.yaml:1:1: vm: unknown field; a Network has: revision, vms, "));
}

TEST(ParseTopologyYamlTest, DuplicateKeysAreErrors) {
  EXPECT_EQ(Refusal(ParseTopologyYaml("vms:\n  - name: a\n    name: b\n", "lab.yaml")),
            "lab.yaml:3:5: vms[0].name: duplicate key (first on line 2)");
  EXPECT_EQ(Refusal(ParseTopologyYaml("vms:\n  - nicCount: 2\n    nic_count: 3\n", "lab.yaml")),
            "lab.yaml:3:5: vms[0].nic_count: sets nic_count again (as nicCount on line 2)");
  EXPECT_EQ(Refusal(ParseTopologyYaml("vms:\n  - labels:\n      a: x\n      a: y\n", "l.yaml")),
            "l.yaml:4:7: vms[0].labels.a: duplicate key (first on line 3)");
}

TEST(ParseTopologyYamlTest, OneofTakesOneMember) {
  EXPECT_EQ(Refusal(ParseTopologyYaml("links:\n  - endpoint: {tap: t0, nic: {vm: a, index: 1}}\n",
                                      "lab.yaml")),
            "lab.yaml:2:25: links[0].endpoint.nic: tap is set too (line 2): an Endpoint has one "
            "of them only");
}

TEST(ParseTopologyYamlTest, MalformedYamlGivesYamlCppsMessageAndLine) {
  EXPECT_EQ(Refusal(ParseTopologyYaml("vms:\n  - name: [vm1\nlans: []\n", "lab.yaml")),
            "lab.yaml:3:5: end of sequence flow not found");
  EXPECT_THAT(Refusal(ParseTopologyYaml("vms: []\n---\nlans: []\n", "lab.yaml")),
              StartsWith("lab.yaml:2:1: more after the end of the document"));
  // yaml-cpp's LoadAll loops forever on this one (found by topology_file_fuzzer).
  EXPECT_THAT(Refusal(ParseTopologyYaml("{vms: []},\n", "lab.yaml")),
              StartsWith("lab.yaml:1:10: more after the end of the document"));
}

TEST(ParseTopologyYamlTest, TagsAndOddKeys) {
  auto network = ParseTopologyYaml("vms: [{name: !!str 1}]\n", "f");
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_EQ(network->vms(0).name(), "1");
  EXPECT_THAT(Refusal(ParseTopologyYaml("vms: [{name: !host vm1}]\n", "f")),
              StartsWith("f:1:14: vms[0].name: tag !host is not supported"));
  network = ParseTopologyYaml("vms: [{labels: {1: one}}]\n", "f");
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_EQ(network->vms(0).labels().at("1"), "one");
  EXPECT_THAT(Refusal(ParseTopologyYaml("vms: [{labels: {[a, b]: one}}]\n", "f")),
              StartsWith("f:1:17: vms[0].labels: a key must be a name, not a list"));
  EXPECT_THAT(Refusal(ParseTopologyYaml("base: &b {name: a}\nvms: [{<<: *b}]\n", "f")),
              HasSubstr("base: unknown field"));
  EXPECT_THAT(Refusal(ParseTopologyYaml("vms: [{<<: {name: a}}]\n", "f")),
              StartsWith("f:1:8: vms[0]: merge keys (<<) are not supported"));
  // An alias inside its own anchor is a cycle: refused where the types stop it.
  EXPECT_FALSE(ParseTopologyYaml("links: [&l {endpoint: *l}]\n", "f").ok());
}

TEST(ParseTopologyYamlTest, EmptyEntriesAndEmptyFiles) {
  EXPECT_EQ(Refusal(ParseTopologyYaml("vms:\n  -\n  - name: a\n", "f")),
            "f:2:3: vms[0]: an empty entry");
  EXPECT_EQ(Refusal(ParseTopologyYaml("# nothing\n", "f")), "f: empty topology file");
  EXPECT_EQ(Refusal(ParseTopologyYaml("", "f")), "f: empty topology file");
  EXPECT_THAT(Refusal(ParseTopologyYaml("- vms\n", "f")),
              StartsWith("f:1:1: expected a map (the fields of a Network), got a list"));
}

TEST(ParseTopologyTest, SniffsJsonOrYaml) {
  auto json = ParseTopology(" {\"lans\": [{\"name\": \"a\"}]}", "-");
  auto yaml = ParseTopology("lans: [{name: a}]", "-");
  ASSERT_TRUE(json.ok() && yaml.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*json, *yaml));
  EXPECT_THAT(Refusal(ParseTopology("{\"lans\": [}", "<stdin>")), HasSubstr("malformed JSON"));
}

TEST(ReadTopologyFileTest, ReadsAFile) {
  auto network = ReadTopologyFile(TmpFile("net.json", R"({"lans": [{"name": "lan1"}]})"));
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_EQ(network->lans(0).name(), "lan1");
}

TEST(ReadTopologyFileTest, ByExtensionThenByContent) {
  auto yaml = ReadTopologyFile(TmpFile("net.yml", "lans: [{name: lan1}]\n"));
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  EXPECT_EQ(yaml->lans(0).name(), "lan1");
  auto other = ReadTopologyFile(TmpFile("net.topo", "lans:\n  - name: lan2\n"));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->lans(0).name(), "lan2");
  // A .json file is JSON, even if it would read as YAML.
  std::string path = TmpFile("lab.json", "lans: [{name: lan1}]\n");
  EXPECT_THAT(Refusal(ReadTopologyFile(path)), StartsWith(path + ":1:1: malformed JSON"));
  // A .yaml file is YAML: JSON is (nearly all) YAML too.
  auto json_in_yaml = ReadTopologyFile(TmpFile("lab.yaml", "{\"lans\": [{\"name\": \"x\"}]}"));
  ASSERT_TRUE(json_in_yaml.ok()) << json_in_yaml.status();
}

TEST(ParseTopologyFileTest, TheNameDecidesAndNamesTheFileInErrors) {
  auto yaml = ParseTopologyFile("vms:\n  - {name: vm1, nic_count: 2}\n", "lab.YAML");
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  EXPECT_EQ(yaml->vms(0).nic_count(), 2);
  EXPECT_THAT(Refusal(ParseTopologyFile("vms:\n  - {name: vm1, nic_count: two}\n", "lab.yml")),
              StartsWith("lab.yml:2:"));
  EXPECT_THAT(Refusal(ParseTopologyFile("lans: []\n", "lab.json")),
              StartsWith("lab.json:1:1: malformed JSON"));
  auto sniffed = ParseTopologyFile("lans: [{name: a}]", "lab");
  ASSERT_TRUE(sniffed.ok()) << sniffed.status();
}

TEST(ReadTopologyFileTest, MissingFile) {
  auto network = ReadTopologyFile("/nonexistent/net.json");
  EXPECT_EQ(network.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(network.status().message(),
              HasSubstr("cannot read the topology file: open /nonexistent/net.json: No such file"));
}

}  // namespace
}  // namespace clownix::clients
