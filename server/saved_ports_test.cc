#include "server/saved_ports.h"

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

using switchcore::SwitchClient;

SwitchClient::PortInfo Port(uint64_t id, const std::string& lan, bool with_mac) {
  SwitchClient::PortInfo port;
  port.port_id = id;
  port.lan = lan;
  port.vm_address.addr.sun_family = AF_UNIX;
  port.vm_address.addr.sun_path[0] = '\0';
  port.vm_address.addr.sun_path[4] = static_cast<char>(id);
  if (with_mac) {
    port.mac_known = true;
    port.mac = {0x02, 0x00, 0x00, 0x01, 0x00, 0x01};
  }
  return port;
}

std::string Path() {
  return std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") + "/ports." +
         testing::UnitTest::GetInstance()->current_test_info()->name();
}

TEST(SavedPorts, RoundTripsEveryField) {
  std::string path = Path();
  std::remove(path.c_str());
  {
    SavedPorts saved(path);
    ASSERT_TRUE(saved.Load().ok());
    EXPECT_TRUE(saved.ports().empty());
    ASSERT_TRUE(saved.Put(Port(7, "lan1", true)).ok());
    ASSERT_TRUE(saved.Put(Port(9, "lan2", false)).ok());
    ASSERT_TRUE(saved.Put(Port(11, "lan2", false)).ok());
    ASSERT_TRUE(saved.Erase(11).ok());
  }
  SavedPorts saved(path);
  ASSERT_TRUE(saved.Load().ok());
  ASSERT_EQ(saved.ports().size(), 2u);
  const auto& a = saved.ports().at(7);
  EXPECT_EQ(a.lan, "lan1");
  EXPECT_TRUE(a.mac_known);
  EXPECT_EQ(a.mac[5], 0x01);
  EXPECT_TRUE(a.vm_address == Port(7, "lan1", true).vm_address);
  EXPECT_FALSE(saved.ports().at(9).mac_known);
}

TEST(SavedPorts, GarbageLinesAreSkipped) {
  std::string path = Path();
  {
    SavedPorts saved(path);
    ASSERT_TRUE(saved.Put(Port(3, "lan1", false)).ok());
  }
  {
    std::ofstream out(path, std::ios::app);
    out << "not a port\n0 lan1 - 00\n12 lan1 zz 0011\n";
  }
  SavedPorts saved(path);
  ASSERT_TRUE(saved.Load().ok());
  ASSERT_EQ(saved.ports().size(), 1u);
  EXPECT_EQ(saved.ports().begin()->first, 3u);
}

TEST(SavedPorts, AFileThatCannotBeReadIsReported) {
  std::string path = Path();
  std::string cmd = "rm -rf '" + path + "' && mkdir -p '" + path + "'";  // a directory
  ASSERT_EQ(system(cmd.c_str()), 0);
  SavedPorts saved(path);
  EXPECT_FALSE(saved.Load().ok());
  EXPECT_TRUE(saved.ports().empty());
  EXPECT_FALSE(saved.Put(Port(1, "lan1", false)).ok());
}

}  // namespace
}  // namespace clownix::server
