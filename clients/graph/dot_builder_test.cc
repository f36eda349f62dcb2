#include "clients/graph/dot_builder.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "clients/graph/sample_network.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::graph {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The one line of `dot` that starts with `prefix` (after indentation); fails the test otherwise.
std::string LineStartingWith(const std::string& dot, const std::string& prefix) {
  std::vector<std::string> found;
  for (absl::string_view line : absl::StrSplit(dot, '\n')) {
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), prefix)) {
      found.emplace_back(line);
    }
  }
  EXPECT_EQ(found.size(), 1u) << "lines starting with " << prefix << " in\n" << dot;
  return found.empty() ? "" : found[0];
}

v1::Vm* AddVm(v1::Network* network, const std::string& name, v1::VmState state) {
  v1::Vm* vm = network->add_vms();
  vm->set_name(name);
  vm->set_state(state);
  return vm;
}

v1::Link* AddLink(v1::Network* network, const std::string& vm, uint32_t index,
                  const std::string& lan, bool up) {
  v1::Link* link = network->add_links();
  link->mutable_endpoint()->mutable_nic()->set_vm(vm);
  link->mutable_endpoint()->mutable_nic()->set_index(index);
  link->set_lan(lan);
  link->set_up(up);
  return link;
}

// vm1 - lan1 - router - lan2 - vm2, and a tap on lan2.
v1::Network DemoNetwork() {
  v1::Network network;
  network.set_revision(42);
  network.add_lans()->set_name("lan1");
  network.add_lans()->set_name("lan2");
  AddVm(&network, "vm1", v1::VM_STATE_RUNNING)->set_admin_ip("10.0.0.1");
  AddVm(&network, "router", v1::VM_STATE_RUNNING)->set_mem_mib(128);
  AddVm(&network, "vm2", v1::VM_STATE_CRASHED)->set_state_reason("killed by signal 9");
  AddLink(&network, "vm1", 1, "lan1", true);
  AddLink(&network, "router", 1, "lan1", true);
  AddLink(&network, "router", 2, "lan2", true);
  AddLink(&network, "vm2", 1, "lan2", false);
  network.add_taps()->set_name("t0");
  v1::Link* tap = network.add_links();
  tap->mutable_endpoint()->set_tap("t0");
  tap->set_lan("lan2");
  tap->set_up(true);
  return network;
}

std::string Build(const v1::Network& network) {
  return DotBuilder(DotBuilder::Options()).Build(network);
}

TEST(DotBuilderTest, VmsAreFilledByState) {
  const std::pair<v1::VmState, const char*> cases[] = {
      {v1::VM_STATE_RUNNING, "#bbf7d0"}, {v1::VM_STATE_BOOTING, "#fde68a"},
      {v1::VM_STATE_CRASHED, "#fca5a5"}, {v1::VM_STATE_STOPPED, "#d1d5db"},
      {v1::VM_STATE_DEFINED, "#ffffff"}, {v1::VM_STATE_STOPPING, "#fed7aa"},
  };
  for (const auto& [state, fill] : cases) {
    v1::Network network;
    AddVm(&network, "x", state);
    std::string node = LineStartingWith(Build(network), "\"vm:x\" [");
    EXPECT_THAT(node, HasSubstr(absl::StrCat("fillcolor=\"", fill, "\""))) << state;
    EXPECT_THAT(node, HasSubstr("shape=box"));
  }
}

TEST(DotBuilderTest, VmBoxShowsNameStateAdminIpMemoryAndReason) {
  std::string dot = Build(DemoNetwork());
  std::string vm1 = LineStartingWith(dot, "\"vm:vm1\" [");
  EXPECT_THAT(vm1, HasSubstr("<b>vm1</b>"));
  EXPECT_THAT(vm1, HasSubstr("running"));
  EXPECT_THAT(vm1, HasSubstr("10.0.0.1"));
  EXPECT_THAT(LineStartingWith(dot, "\"vm:router\" ["), HasSubstr("128 MiB"));
  std::string vm2 = LineStartingWith(dot, "\"vm:vm2\" [");
  EXPECT_THAT(vm2, HasSubstr("crashed"));
  EXPECT_THAT(vm2, HasSubstr("killed by signal 9"));
}

TEST(DotBuilderTest, AVmWithoutTheAdminNetworkSaysSo) {
  v1::Network network;
  AddVm(&network, "lab", v1::VM_STATE_RUNNING)->set_admin(false);
  AddVm(&network, "host", v1::VM_STATE_RUNNING)->set_admin(true);
  std::string dot = Build(network);
  EXPECT_THAT(LineStartingWith(dot, "\"vm:lab\" ["), HasSubstr("no admin network"));
  EXPECT_THAT(LineStartingWith(dot, "\"vm:host\" ["), Not(HasSubstr("no admin network")));
}

TEST(DotBuilderTest, LansAreEllipsesAndTapsHaveTheirOwnShape) {
  v1::Network network = DemoNetwork();
  network.mutable_lans(1)->set_mode(v1::LAN_MODE_HUB);
  std::string dot = Build(network);
  std::string lan1 = LineStartingWith(dot, "\"lan:lan1\" [");
  EXPECT_THAT(lan1, HasSubstr("shape=ellipse"));
  EXPECT_THAT(lan1, HasSubstr("switch · 2 ports"));
  EXPECT_THAT(LineStartingWith(dot, "\"lan:lan2\" ["), HasSubstr("hub · 3 ports"));
  EXPECT_THAT(LineStartingWith(dot, "\"tap:t0\" ["), HasSubstr("shape=cds"));
}

TEST(DotBuilderTest, LinksAreLabelledSolidWhenUpDashedWhenDown) {
  std::string dot = Build(DemoNetwork());
  std::string up = LineStartingWith(dot, "\"lan:lan1\" -- \"vm:vm1\"");
  EXPECT_THAT(up, HasSubstr("style=solid"));
  EXPECT_THAT(up, HasSubstr("<b>eth1</b>"));
  std::string down = LineStartingWith(dot, "\"lan:lan2\" -- \"vm:vm2\"");
  EXPECT_THAT(down, HasSubstr("style=dashed"));
  EXPECT_THAT(LineStartingWith(dot, "\"lan:lan2\" -- \"tap:t0\""), HasSubstr("<b>tap</b>"));
}

TEST(DotBuilderTest, RouterSitsBetweenItsLans) {
  std::string dot = Build(DemoNetwork());
  // Edges run from the LAN walk's earlier node to the later one: dot ranks lan1, router, lan2.
  LineStartingWith(dot, "\"lan:lan1\" -- \"vm:router\"");
  LineStartingWith(dot, "\"vm:router\" -- \"lan:lan2\"");
}

TEST(DotBuilderTest, ImpairmentsAreInTheEdgeLabel) {
  v1::Network network = DemoNetwork();
  v1::Impairment impairment;
  impairment.set_delay_us(20000);
  impairment.set_jitter_us(2000);
  impairment.set_loss_percent(1.5);
  *network.mutable_links(0)->mutable_to_lan() = impairment;
  *network.mutable_links(0)->mutable_from_lan() = impairment;
  network.mutable_links(1)->mutable_to_lan()->set_rate_kbps(10000);
  network.mutable_links(1)->mutable_from_lan()->set_delay_us(500);
  std::string dot = Build(network);
  std::string both = LineStartingWith(dot, "\"lan:lan1\" -- \"vm:vm1\"");
  EXPECT_THAT(both, HasSubstr("tx/rx delay 20ms ±2ms loss 1.5%"));
  EXPECT_THAT(both, HasSubstr("color=\"#c2410c\""));
  std::string split = LineStartingWith(dot, "\"lan:lan1\" -- \"vm:router\"");
  EXPECT_THAT(split, HasSubstr("tx rate 10Mbit/s"));
  EXPECT_THAT(split, HasSubstr("rx delay 500µs"));
  EXPECT_THAT(LineStartingWith(dot, "\"vm:router\" -- \"lan:lan2\""), Not(HasSubstr("tx")));
}

TEST(DotBuilderTest, HeaderHasTitleRevisionTimeCountsAndLegend) {
  DotBuilder::Options options;
  options.time = absl::FromCivil(absl::CivilSecond(2025, 1, 15, 10, 3, 8), absl::UTCTimeZone());
  options.time_is_revision_time = true;
  std::string dot = DotBuilder(options).Build(DemoNetwork());
  EXPECT_THAT(dot, HasSubstr("revision 42 at 2025-01-15 10:03:08 UTC"));
  EXPECT_THAT(dot, HasSubstr("3 VMs (2 running, 1 crashed)"));
  EXPECT_THAT(dot, HasSubstr("5 links (1 down)"));
  for (const char* state : {"defined", "booting", "running", "stopping", "stopped", "crashed"}) {
    EXPECT_THAT(dot, HasSubstr(absl::StrCat("  ", state, "  </font></td>"))) << state;
  }
  EXPECT_THAT(dot, HasSubstr("up"));
  EXPECT_THAT(dot, HasSubstr("down"));
  EXPECT_THAT(dot, HasSubstr("impaired"));
  options.time_is_revision_time = false;
  EXPECT_THAT(DotBuilder(options).Build(DemoNetwork()), HasSubstr("revision 42 as of 2025-"));
}

TEST(DotBuilderTest, NoticeIsShownEscaped) {
  DotBuilder::Options options;
  EXPECT_THAT(DotBuilder(options).Build(DemoNetwork()), Not(HasSubstr("unreachable")));
  options.notice = "clownixd <unix:/x> unreachable";
  EXPECT_THAT(DotBuilder(options).Build(DemoNetwork()),
              HasSubstr("clownixd &lt;unix:/x&gt; unreachable"));
}

TEST(DotBuilderTest, UserStringsAreEscaped) {
  v1::Network network = DemoNetwork();
  (*network.mutable_vms(0)->mutable_labels())["note"] = "<b>\"x\" & y</b>";
  network.mutable_vms(2)->set_state_reason("exit > 0 & \"bad\"\n]; evil -- x");
  std::string dot = Build(network);
  EXPECT_THAT(dot, HasSubstr("note=&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;"));
  EXPECT_THAT(dot, HasSubstr("exit &gt; 0 &amp; &quot;bad&quot; ]; evil -- x"));
  EXPECT_THAT(dot, Not(HasSubstr("<b>\"x\"")));
}

TEST(DotBuilderTest, LongLabelsAreCut) {
  v1::Network network = DemoNetwork();
  (*network.mutable_vms(0)->mutable_labels())["k"] = std::string(61, 'v');
  std::string dot = Build(network);
  EXPECT_THAT(dot, HasSubstr(absl::StrCat("k=", std::string(37, 'v'), "…")));
  EXPECT_THAT(dot, Not(HasSubstr(std::string(61, 'v'))));
}

TEST(DotBuilderTest, OutputIsDeterministicWhateverTheInputOrder) {
  v1::Network network = DemoNetwork();
  (*network.mutable_vms(0)->mutable_labels())["b"] = "2";
  (*network.mutable_vms(0)->mutable_labels())["a"] = "1";
  v1::Network reversed = network;
  std::reverse(reversed.mutable_vms()->begin(), reversed.mutable_vms()->end());
  std::reverse(reversed.mutable_lans()->begin(), reversed.mutable_lans()->end());
  std::reverse(reversed.mutable_links()->begin(), reversed.mutable_links()->end());
  reversed.mutable_vms(2)->mutable_labels()->clear();
  (*reversed.mutable_vms(2)->mutable_labels())["a"] = "1";
  (*reversed.mutable_vms(2)->mutable_labels())["b"] = "2";
  EXPECT_EQ(Build(network), Build(network));
  EXPECT_EQ(Build(network), Build(reversed));
}

TEST(DotBuilderTest, ObjectsOutsideTheNetworkGetPlaceholders) {
  v1::Network network;
  AddLink(&network, "ghost", 1, "elsewhere", true);
  std::string dot = Build(network);
  EXPECT_THAT(LineStartingWith(dot, "\"vm:ghost\" ["), HasSubstr("vm not shown"));
  EXPECT_THAT(LineStartingWith(dot, "\"lan:elsewhere\" ["), HasSubstr("lan not shown"));
}

TEST(DotBuilderTest, NicsOnALanWithoutALinkAreStillDrawn) {
  v1::Network network;
  network.add_lans()->set_name("lan1");
  v1::Vm* vm = AddVm(&network, "vm1", v1::VM_STATE_RUNNING);
  v1::Nic* admin = vm->add_nics();
  admin->set_lan("admin");
  v1::Nic* eth1 = vm->add_nics();
  eth1->set_index(1);
  eth1->set_lan("lan1");
  eth1->set_link_up(true);
  std::string dot = Build(network);
  EXPECT_THAT(LineStartingWith(dot, "\"lan:lan1\" -- \"vm:vm1\""), HasSubstr("style=solid"));
  EXPECT_THAT(dot, Not(HasSubstr("lan:admin")));  // eth0's admin IP is in the box instead
}

TEST(DotBuilderTest, SampleNetworkHasEveryVmAndLink) {
  std::string dot = Build(SampleNetwork());
  size_t vm_nodes = 0, edges = 0;
  for (absl::string_view line : absl::StrSplit(dot, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(line, "\"vm:") && !absl::StrContains(line, " -- ")) ++vm_nodes;
    if (absl::StrContains(line, " -- ")) ++edges;
  }
  EXPECT_EQ(vm_nodes, 20u);
  EXPECT_EQ(edges, 25u);
}

}  // namespace
}  // namespace clownix::graph
