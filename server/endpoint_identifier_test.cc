#include "server/endpoint_identifier.h"

#include <cstring>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

using switchcore::ctl::PortKind;

// VM "a" (number 1) with eth1 on blue; VM "b" (number 123) with eth1 and eth2 both on blue.
TopologyState Topology() {
  clownix::v1::Network network;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        lans { name: "blue" }
        vms {
          name: "a"
          number: 1
          nics { index: 0 }
          nics { index: 1 lan: "blue" }
        }
        vms {
          name: "b"
          number: 123
          nics { index: 0 }
          nics { index: 1 lan: "blue" }
          nics { index: 2 lan: "blue" }
        }
      )pb",
      &network));
  absl::StatusOr<TopologyState> state = TopologyState::FromNetwork(network);
  EXPECT_TRUE(state.ok()) << state.status();
  return *state;
}

// A UML data address: {char 0; int pid; int usecs}.
switchcore::DataAddress UmlAddress(int pid) {
  switchcore::DataAddress address{};
  address.addr.sun_family = AF_UNIX;
  std::memcpy(address.addr.sun_path + 4, &pid, sizeof(pid));
  int usecs = 12345;
  std::memcpy(address.addr.sun_path + 8, &usecs, sizeof(usecs));
  return address;
}

SwitchDriver::Port VmPort(const std::string& lan, int pid) {
  SwitchDriver::Port port;
  port.port_id = 7;
  port.lan = lan;
  port.kind = PortKind::kVm;
  port.vm_address = UmlAddress(pid);
  return port;
}

std::vector<VmDriver::Info> Running() {
  VmDriver::Info a, b;
  a.name = "a";
  a.pid = 1000;
  b.name = "b";
  b.pid = 2000;
  return {a, b};
}

TEST(EndpointIdentifier, ATapPortIsItsTap) {
  TopologyState topology = Topology();
  std::vector<VmDriver::Info> running;
  SwitchDriver::Port port;
  port.kind = PortKind::kTap;
  port.tap_name = "t0";
  EXPECT_EQ(EndpointIdentifier(topology, running).Identify(port), EndpointRef::Tap("t0"));
}

TEST(EndpointIdentifier, ASeedMacNamesTheVmByItsNumber) {
  TopologyState topology = Topology();
  std::vector<VmDriver::Info> running;
  EndpointIdentifier identifier(topology, running);
  // VM 123's eth2: 02:00:01:23:00:02, the fields read as decimal digits.
  EXPECT_EQ(identifier.ByMac({0x02, 0x00, 0x01, 0x23, 0x00, 0x02}), EndpointRef::Nic("b", 2));
  SwitchDriver::Port port = VmPort("blue", 0);
  port.mac_known = true;
  port.mac = {0x02, 0x00, 0x00, 0x01, 0x00, 0x01};
  EXPECT_EQ(identifier.Identify(port), EndpointRef::Nic("a", 1));
}

TEST(EndpointIdentifier, OtherMacsNameNothing) {
  TopologyState topology = Topology();
  std::vector<VmDriver::Info> running;
  EndpointIdentifier identifier(topology, running);
  EXPECT_EQ(identifier.ByMac({0x02, 0x00, 0x00, 0x09, 0x00, 0x01}), std::nullopt);  // no VM 9
  EXPECT_EQ(identifier.ByMac({0x52, 0x54, 0x00, 0x01, 0x00, 0x01}), std::nullopt);  // not seed
  EXPECT_EQ(identifier.ByMac({0x02, 0x00, 0x00, 0x1a, 0x00, 0x01}), std::nullopt);  // not decimal
}

TEST(EndpointIdentifier, AChosenMacNamesTheNicThatChoseIt) {
  clownix::v1::Network network;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        lans { name: "A" }
        vms {
          name: "r1"
          number: 4
          admin: false
          nic_macs { key: 0 value: "02:42:0a:00:00:01" }
          nics { index: 0 lan: "A" mac: "02:42:0a:00:00:01" }
        }
      )pb",
      &network));
  absl::StatusOr<TopologyState> topology = TopologyState::FromNetwork(network);
  ASSERT_TRUE(topology.ok()) << topology.status();
  std::vector<VmDriver::Info> running = {{"r1", clownix::v1::VM_STATE_RUNNING, 4000, {}}};
  EndpointIdentifier identifier(*topology, running);
  EXPECT_EQ(identifier.ByMac({0x02, 0x42, 0x0a, 0x00, 0x00, 0x01}), EndpointRef::Nic("r1", 0));
  EXPECT_EQ(identifier.ByMac({0x02, 0x42, 0x0a, 0x00, 0x00, 0x02}), std::nullopt);
  // Without the admin network, eth0 is a lab NIC: the pid and the LAN find it too.
  EXPECT_EQ(identifier.Identify(VmPort("A", 4000)), EndpointRef::Nic("r1", 0));
}

TEST(EndpointIdentifier, ThePidInTheDataAddressNamesTheVmAndTheLanItsNic) {
  TopologyState topology = Topology();
  std::vector<VmDriver::Info> running = Running();
  EndpointIdentifier identifier(topology, running);
  EXPECT_EQ(EndpointIdentifier::UmlPid(UmlAddress(1000)), 1000);
  EXPECT_EQ(identifier.VmByDataAddress(UmlAddress(2000)), "b");
  EXPECT_EQ(identifier.VmByDataAddress(UmlAddress(3000)), std::nullopt);
  EXPECT_EQ(identifier.Identify(VmPort("blue", 1000)), EndpointRef::Nic("a", 1));
  // VM a has nothing on "red"; an unknown pid is nobody.
  EXPECT_EQ(identifier.Identify(VmPort("red", 1000)), std::nullopt);
  EXPECT_EQ(identifier.Identify(VmPort("blue", 3000)), std::nullopt);
}

TEST(EndpointIdentifier, TwoNicsOnOneLanNeedTheMac) {
  TopologyState topology = Topology();
  std::vector<VmDriver::Info> running = Running();
  EXPECT_EQ(EndpointIdentifier(topology, running).Identify(VmPort("blue", 2000)), std::nullopt);
}

TEST(EndpointIdentifier, AVmPortOnTheAdminLanIsEth0) {
  TopologyState topology = Topology();
  std::vector<VmDriver::Info> running = Running();
  EXPECT_EQ(EndpointIdentifier(topology, running).Identify(VmPort(kAdminLan, 2000)),
            EndpointRef::Nic("b", 0));
}

TEST(EndpointIdentifier, APathAddressHasNoPid) {
  switchcore::DataAddress address{};
  address.addr.sun_family = AF_UNIX;
  std::strcpy(address.addr.sun_path, "/tmp/vm.sock");
  EXPECT_EQ(EndpointIdentifier::UmlPid(address), std::nullopt);
}

}  // namespace
}  // namespace clownix::server
