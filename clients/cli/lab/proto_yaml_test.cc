#include "clients/cli/lab/proto_yaml.h"

#include "clients/common/topology_file.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

using ::testing::HasSubstr;

TEST(ProtoYamlTest, QuotesWhatWouldReadAsSomethingElse) {
  EXPECT_EQ(YamlQuote("debian"), "debian");
  EXPECT_EQ(YamlQuote("/etc/frr/frr.conf"), "/etc/frr/frr.conf");
  EXPECT_EQ(YamlQuote("net.ipv4.ip_forward"), "net.ipv4.ip_forward");
  EXPECT_EQ(YamlQuote("1"), "\"1\"");
  EXPECT_EQ(YamlQuote("0644"), "\"0644\"");
  EXPECT_EQ(YamlQuote("yes"), "\"yes\"");
  EXPECT_EQ(YamlQuote("10.0.0.1/24"), "\"10.0.0.1/24\"");
  EXPECT_EQ(YamlQuote("a b"), "\"a b\"");
  EXPECT_EQ(YamlQuote(""), "\"\"");
  EXPECT_EQ(YamlQuote("say \"x\"\n"), "\"say \\\"x\\\"\\n\"");
}

TEST(ProtoYamlTest, ANetworkReadsBackTheSame) {
  v1::Network network;
  v1::Vm& vm = *network.add_vms();
  vm.set_name("r1");
  vm.set_admin(false);
  vm.set_image("debian");
  vm.set_nic_count(3);
  vm.set_mem_mib(128);
  (*vm.mutable_labels())["clownix.lab"] = "my_lab";
  (*vm.mutable_nic_macs())[10] = "02:42:0a:00:00:0a";
  (*vm.mutable_nic_macs())[2] = "02:42:0a:00:00:02";
  v1::GuestConfig& guest = *vm.mutable_guest();
  (*guest.mutable_sysctls())["net.ipv4.ip_forward"] = "1";
  guest.set_startup("#!/bin/bash\nset -x\n  indented\n\necho \"done\" # x: y\n");
  guest.set_shutdown("no newline\nat the end");
  v1::GuestFile* file = guest.add_files();
  file->set_path("/etc/a");
  file->set_text("  leading blanks\nand two newlines\n\n");
  file->set_mode("0640");
  file = guest.add_files();
  file->set_path("/bin/b");
  file->set_data(std::string("\x00\xff\x01", 3));
  file = guest.add_files();
  file->set_path("/etc/c");
  file->set_text("trailing blank \nline\n");
  file = guest.add_files();
  file->set_path("/etc/d");
  file->set_text("");
  v1::NicAddress* address = guest.add_addresses();
  address->set_nic(1);
  address->set_cidr("10.0.0.1/24");
  network.add_lans()->set_name("a");
  network.mutable_lans(0)->set_mode(v1::LAN_MODE_HUB);
  network.add_taps()->set_name("t1");
  v1::Link& link = *network.add_links();
  link.mutable_endpoint()->mutable_nic()->set_vm("r1");
  link.mutable_endpoint()->mutable_nic()->set_index(0);
  link.set_lan("a");

  const std::string yaml = ToYaml(network);
  EXPECT_THAT(yaml, HasSubstr("vms:\n  - name: r1\n"));
  EXPECT_THAT(yaml, HasSubstr("    admin: false\n"));
  EXPECT_THAT(yaml, HasSubstr("        vm: r1\n        index: 0\n"));
  EXPECT_THAT(yaml, HasSubstr("startup: |\n        #!/bin/bash\n"));
  EXPECT_THAT(yaml, HasSubstr("nic_macs:\n      2: \"02:42:0a:00:00:02\"\n      10: "));
  absl::StatusOr<v1::Network> back = clients::ParseTopologyYaml(yaml, "converted.yaml");
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << yaml;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*back, network))
      << yaml << "\n---\n"
      << back->DebugString();
}

TEST(ProtoYamlTest, EmptyMessage) { EXPECT_EQ(ToYaml(v1::Network()), "{}\n"); }

}  // namespace
}  // namespace clownix::cli
