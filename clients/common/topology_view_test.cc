#include "clients/common/topology_view.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace clownix::clients {
namespace {

v1::Change VmChange(v1::Change::Type type, const std::string& name, v1::VmState state) {
  v1::Change change;
  change.set_type(type);
  change.mutable_vm()->set_name(name);
  change.mutable_vm()->set_state(state);
  return change;
}

v1::Change LinkChange(v1::Change::Type type, const std::string& vm, uint32_t index,
                      const std::string& lan, bool up) {
  v1::Change change;
  change.set_type(type);
  change.mutable_link()->mutable_endpoint()->mutable_nic()->set_vm(vm);
  change.mutable_link()->mutable_endpoint()->mutable_nic()->set_index(index);
  change.mutable_link()->set_lan(lan);
  change.mutable_link()->set_up(up);
  return change;
}

v1::WatchResponse Event(uint64_t revision, std::vector<v1::Change> changes) {
  v1::WatchResponse response;
  v1::Event* event = response.add_events();
  event->set_revision(revision);
  event->set_time_us(1700000000000000 + revision);
  for (auto& change : changes) *event->add_changes() = change;
  return response;
}

v1::WatchResponse Snapshot() {
  v1::WatchResponse response;
  v1::Network* network = response.mutable_snapshot()->mutable_topology();
  network->set_revision(5);
  network->add_lans()->set_name("lan1");
  network->add_vms()->set_name("b");
  network->add_vms()->set_name("a");
  v1::Link* link = network->add_links();
  link->mutable_endpoint()->mutable_nic()->set_vm("a");
  link->mutable_endpoint()->mutable_nic()->set_index(1);
  link->set_lan("lan1");
  return response;
}

TEST(TopologyViewTest, StartsEmptyAtRevisionZero) {
  TopologyView view;
  EXPECT_EQ(view.revision(), 0u);
  EXPECT_FALSE(view.has_snapshot());
  EXPECT_EQ(view.ToNetwork().vms_size(), 0);
}

TEST(TopologyViewTest, SnapshotReplacesEverythingAndSortsByName) {
  TopologyView view;
  ASSERT_TRUE(view.Apply(Event(1, {VmChange(v1::Change::CREATED, "old", v1::VM_STATE_DEFINED)})));
  ASSERT_TRUE(view.Apply(Snapshot()));
  v1::Network network = view.ToNetwork();
  EXPECT_EQ(network.revision(), 5u);
  ASSERT_EQ(network.vms_size(), 2);
  EXPECT_EQ(network.vms(0).name(), "a");
  EXPECT_EQ(network.vms(1).name(), "b");
  EXPECT_EQ(network.links_size(), 1);
  EXPECT_EQ(view.revision_time(), absl::InfinitePast());
  EXPECT_TRUE(view.has_snapshot());
}

TEST(TopologyViewTest, EventsCreateUpdateAndDeleteByKey) {
  TopologyView view;
  view.Apply(Snapshot());
  view.Apply(Event(6, {VmChange(v1::Change::UPDATED, "a", v1::VM_STATE_RUNNING),
                       LinkChange(v1::Change::UPDATED, "a", 1, "lan1", true)}));
  v1::Network network = view.ToNetwork();
  EXPECT_EQ(network.revision(), 6u);
  EXPECT_EQ(view.revision_time(), absl::FromUnixMicros(1700000000000006));
  EXPECT_EQ(network.vms(0).state(), v1::VM_STATE_RUNNING);
  ASSERT_EQ(network.links_size(), 1);  // the same endpoint: replaced, not added
  EXPECT_TRUE(network.links(0).up());

  view.Apply(Event(7, {LinkChange(v1::Change::DELETED, "a", 1, "lan1", true)}));
  EXPECT_EQ(view.ToNetwork().links_size(), 0);
  view.Apply(Event(8, {VmChange(v1::Change::DELETED, "b", v1::VM_STATE_DEFINED)}));
  ASSERT_EQ(view.ToNetwork().vms_size(), 1);
  EXPECT_EQ(view.ToNetwork().vms(0).name(), "a");
}

TEST(TopologyViewTest, DeletingAVmDropsItsLinks) {
  TopologyView view;
  view.Apply(Snapshot());
  view.Apply(Event(6, {VmChange(v1::Change::DELETED, "a", v1::VM_STATE_DEFINED)}));
  EXPECT_EQ(view.ToNetwork().links_size(), 0);
}

TEST(TopologyViewTest, AHeartbeatMovesTheRevisionOnly) {
  TopologyView view;
  view.Apply(Snapshot());
  view.Apply(Event(6, {VmChange(v1::Change::UPDATED, "a", v1::VM_STATE_RUNNING)}));
  v1::WatchResponse heartbeat;
  heartbeat.mutable_heartbeat()->set_revision(9);
  EXPECT_FALSE(view.Apply(heartbeat));  // nothing changed
  EXPECT_EQ(view.revision(), 9u);       // but a resume starts after 9
  EXPECT_EQ(view.ToNetwork().revision(), 9u);
  EXPECT_EQ(view.revision_time(), absl::FromUnixMicros(1700000000000006));  // the last change
  EXPECT_EQ(view.ToNetwork().vms_size(), 2);
  heartbeat.mutable_heartbeat()->set_revision(8);  // never backwards
  view.Apply(heartbeat);
  EXPECT_EQ(view.revision(), 9u);
}

TEST(TopologyViewTest, LinksAreKeyedByEndpointAndLansListedInOrder) {
  TopologyView view;
  v1::WatchResponse snapshot;
  snapshot.mutable_snapshot()->mutable_topology()->set_revision(1);
  view.Apply(snapshot);
  v1::Change created, updated, lan2, lan1;
  created.set_type(v1::Change::CREATED);
  created.mutable_link()->mutable_endpoint()->set_tap("t0");
  created.mutable_link()->set_lan("lan1");
  updated = created;
  updated.set_type(v1::Change::UPDATED);
  updated.mutable_link()->set_up(true);
  lan2.set_type(v1::Change::CREATED);
  lan2.mutable_lan()->set_name("lan2");
  lan1 = lan2;
  lan1.mutable_lan()->set_name("lan1");
  view.Apply(Event(2, {created, updated, lan2, lan1}));
  v1::Network network = view.ToNetwork();
  ASSERT_EQ(network.links_size(), 1);  // the same tap: updated, not added
  EXPECT_TRUE(network.links(0).up());
  EXPECT_EQ(view.LanNames(), (std::vector<std::string>{"lan1", "lan2"}));
}

TEST(TopologyViewTest, LinksSortByLan) {
  TopologyView view;
  view.Apply(Event(1, {LinkChange(v1::Change::CREATED, "a", 1, "zeta", true),
                       LinkChange(v1::Change::CREATED, "b", 1, "alpha", true)}));
  v1::Network network = view.ToNetwork();
  ASSERT_EQ(network.links_size(), 2);
  EXPECT_EQ(network.links(0).lan(), "alpha");
  EXPECT_EQ(network.links(1).lan(), "zeta");
}

}  // namespace
}  // namespace clownix::clients
