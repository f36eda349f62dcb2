#include "server/capture_manager.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/endpoint_identifier.h"
#include "server/testing/fake_switch_driver.h"

namespace clownix::server {
namespace {

using testing::FakeCapture;
using testing::FakeSwitchDriver;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(30);  // a deadline, never a sleep

std::string FreshDir() {
  std::string base = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
  std::string dir =
      base + "/capture-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::string cmd = "rm -rf '" + dir + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
  return dir;
}

std::array<uint8_t, 6> Mac(int vm, int eth) {
  auto bcd = [](int n) { return static_cast<uint8_t>((n / 10) << 4 | (n % 10)); };
  return {0x02, 0x00, bcd(vm / 100), bcd(vm % 100), 0x00, bcd(eth)};
}

switchcore::DataAddress Address(int n) {
  switchcore::DataAddress address{};
  address.addr.sun_family = AF_UNIX;
  std::memcpy(address.addr.sun_path + 1, &n, sizeof(n));
  return address;
}

Mutation CreateLan(const std::string& name) {
  Mutation m;
  m.mutable_create_lan()->mutable_lan()->set_name(name);
  return m;
}
Mutation DeleteLan(const std::string& name) {
  Mutation m;
  m.mutable_delete_lan()->set_name(name);
  return m;
}
Mutation CreateVm(const std::string& name, int nics, bool admin = true) {
  Mutation m;
  m.mutable_create_vm()->mutable_vm()->set_name(name);
  m.mutable_create_vm()->mutable_vm()->set_nic_count(nics);
  m.mutable_create_vm()->mutable_vm()->set_admin(admin);
  return m;
}
Mutation DeleteVm(const std::string& name) {
  Mutation m;
  m.mutable_delete_vm()->set_name(name);
  return m;
}
Mutation CreateTap(const std::string& name) {
  Mutation m;
  m.mutable_create_tap()->mutable_tap()->set_name(name);
  return m;
}
Mutation Connect(const EndpointRef& endpoint, const std::string& lan) {
  Mutation m;
  *m.mutable_connect()->mutable_endpoint() = endpoint.ToProto();
  m.mutable_connect()->set_lan(lan);
  return m;
}
Mutation Disconnect(const EndpointRef& endpoint) {
  Mutation m;
  *m.mutable_disconnect()->mutable_endpoint() = endpoint.ToProto();
  return m;
}

clownix::v1::CaptureRequest NicRequest(const std::string& vm, int index) {
  clownix::v1::CaptureRequest request;
  *request.mutable_endpoint() = EndpointRef::Nic(vm, index).ToProto();
  return request;
}
clownix::v1::CaptureRequest LanRequest(const std::string& lan) {
  clownix::v1::CaptureRequest request;
  request.set_lan(lan);
  return request;
}
clownix::v1::CaptureRequest TapRequest(const std::string& tap) {
  clownix::v1::CaptureRequest request;
  *request.mutable_endpoint() = EndpointRef::Tap(tap).ToProto();
  return request;
}

class CaptureManagerTest : public ::testing::Test {
 protected:
  CaptureManagerTest() : sw_([](const SwitchDriver::PortEvent&) {}) {}

  void SetUp() override {
    TopologyStore::Options options;
    options.work_dir = FreshDir();
    absl::StatusOr<std::unique_ptr<TopologyStore>> store = TopologyStore::Create(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    manager_ = std::make_unique<CaptureManager>(
        store_.get(), &sw_, [this](const SwitchDriver::Port& port) {
          std::optional<EndpointRef> endpoint;
          std::vector<VmDriver::Info> running;
          store_->Read([&](const TopologyState& topology) {
            endpoint = EndpointIdentifier(topology, running).Identify(port);
          });
          return endpoint;
        });
    // vm "a" (number 1) eth1 and vm "b" (number 2) eth1 on lan1, tap0 on lan1, b's eth2 nowhere.
    Must(CreateLan("lan1"));
    Must(CreateLan("lan2"));
    Must(CreateVm("a", 2));
    Must(CreateVm("b", 3));
    Must(CreateTap("tap0"));
    Must(Connect(EndpointRef::Nic("a", 1), "lan1"));
    Must(Connect(EndpointRef::Nic("b", 1), "lan1"));
    Must(Connect(EndpointRef::Tap("tap0"), "lan1"));
    ASSERT_TRUE(sw_.CreateLan("lan1", clownix::v1::LAN_MODE_SWITCH).ok());
    ASSERT_TRUE(sw_.CreateLan("lan2", clownix::v1::LAN_MODE_SWITCH).ok());
    ASSERT_TRUE(sw_.CreateLan(kAdminLan, clownix::v1::LAN_MODE_SWITCH).ok());
  }

  void TearDown() override {
    manager_.reset();
    store_->Shutdown();
  }

  void Must(Mutation m) {
    absl::StatusOr<TopologyStore::Committed> r = store_->Mutate(m);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  std::unique_ptr<SwitchBackend::Capture> Start(const clownix::v1::CaptureRequest& request) {
    absl::StatusOr<std::unique_ptr<SwitchBackend::Capture>> capture = manager_->Start(request);
    EXPECT_TRUE(capture.ok()) << capture.status();
    return capture.ok() ? *std::move(capture) : nullptr;
  }

  absl::Status StartError(const clownix::v1::CaptureRequest& request) {
    return manager_->Start(request).status();
  }

  // Waits until the capture's TopologyStatus is not OK (events are published asynchronously).
  absl::Status WaitForEnd(const SwitchBackend::Capture& capture) {
    absl::Time deadline = absl::Now() + kWait;
    while (capture.TopologyStatus().ok() && absl::Now() < deadline) {
      // The store's events reach the manager through the hub's publisher thread: wait for the
      // revision to be published, not for time.
      absl::SleepFor(absl::Milliseconds(1));
    }
    return capture.TopologyStatus();
  }

  FakeSwitchDriver sw_;
  std::unique_ptr<TopologyStore> store_;
  std::unique_ptr<CaptureManager> manager_;
};

TEST_F(CaptureManagerTest, ANicWhosePortIsUpIsCapturedByItsPort) {
  uint64_t port = sw_.ConnectVm("lan1", Address(1), Mac(1, 1));
  sw_.ConnectVm("lan1", Address(2), Mac(2, 1));
  clownix::v1::CaptureRequest request = NicRequest("a", 1);
  request.set_filter("icmp");
  request.set_snaplen(128);
  std::unique_ptr<SwitchBackend::Capture> capture = Start(request);
  ASSERT_TRUE(capture);
  ASSERT_EQ(sw_.captures().size(), 1u);
  const switchcore::CaptureSpec& spec = sw_.captures()[0]->spec();
  EXPECT_EQ(spec.lan, "lan1");
  EXPECT_EQ(spec.port_id, port);
  EXPECT_FALSE(spec.mac);
  EXPECT_EQ(spec.snaplen, 128u);
  EXPECT_FALSE(spec.program.empty());
  EXPECT_FALSE(capture->whole_lan());
  EXPECT_EQ(capture->PortName(port), "a.eth1");
  EXPECT_TRUE(capture->TopologyStatus().ok());
  capture.reset();
  EXPECT_TRUE(sw_.captures()[0]->stopped());
}

TEST_F(CaptureManagerTest, ANicNotUpYetIsCapturedByItsSeedMac) {
  std::unique_ptr<SwitchBackend::Capture> capture = Start(NicRequest("b", 1));
  ASSERT_TRUE(capture);
  const switchcore::CaptureSpec& spec = sw_.captures()[0]->spec();
  EXPECT_EQ(spec.lan, "lan1");
  EXPECT_EQ(spec.port_id, 0u);
  ASSERT_TRUE(spec.mac);
  EXPECT_EQ(*spec.mac, Mac(2, 1));
  EXPECT_EQ(spec.snaplen, 65535u);
  EXPECT_TRUE(spec.program.empty());
  EXPECT_EQ(capture->PortName(0), "b.eth1");
}

TEST_F(CaptureManagerTest, Eth0IsOnTheAdminLan) {
  std::unique_ptr<SwitchBackend::Capture> capture = Start(NicRequest("a", 0));
  ASSERT_TRUE(capture);
  EXPECT_EQ(sw_.captures()[0]->spec().lan, kAdminLan);
  EXPECT_EQ(*sw_.captures()[0]->spec().mac, Mac(1, 0));
  Must(CreateVm("c", 1, /*admin=*/false));
  absl::Status status = StartError(NicRequest("c", 0));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
}

TEST_F(CaptureManagerTest, ATapIsCapturedByItsPort) {
  absl::StatusOr<uint64_t> port = sw_.AttachTap("lan1", "tap0");
  ASSERT_TRUE(port.ok());
  std::unique_ptr<SwitchBackend::Capture> capture = Start(TapRequest("tap0"));
  ASSERT_TRUE(capture);
  EXPECT_EQ(sw_.captures()[0]->spec().port_id, *port);
  EXPECT_EQ(capture->PortName(*port), "tap0");
}

TEST_F(CaptureManagerTest, ALanIsCapturedWholeAndItsPortsNamed) {
  uint64_t a = sw_.ConnectVm("lan1", Address(1), Mac(1, 1));
  absl::StatusOr<uint64_t> tap = sw_.AttachTap("lan1", "tap0");
  ASSERT_TRUE(tap.ok());
  std::unique_ptr<SwitchBackend::Capture> capture = Start(LanRequest("lan1"));
  ASSERT_TRUE(capture);
  const switchcore::CaptureSpec& spec = sw_.captures()[0]->spec();
  EXPECT_EQ(spec.lan, "lan1");
  EXPECT_EQ(spec.port_id, 0u);
  EXPECT_FALSE(spec.mac);
  EXPECT_TRUE(capture->whole_lan());
  EXPECT_EQ(capture->PortName(a), "a.eth1");
  EXPECT_EQ(capture->PortName(*tap), "tap0");
  EXPECT_EQ(capture->PortName(999), "port 999");
}

TEST_F(CaptureManagerTest, ErrorsBeforeAnythingStarts) {
  clownix::v1::CaptureRequest bad_filter = NicRequest("a", 1);
  bad_filter.set_filter("icmp and and");
  absl::Status status = StartError(bad_filter);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("syntax error"));

  status = StartError(NicRequest("nosuchvm", 1));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("\"nosuchvm\""));
  status = StartError(NicRequest("a", 5));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("eth5"));
  status = StartError(NicRequest("b", 2));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("b/eth2 is not connected"));
  status = StartError(LanRequest("nosuchlan"));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("\"nosuchlan\""));
  status = StartError(TapRequest("tap9"));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("\"tap9\""));

  clownix::v1::CaptureRequest pcap_lan = LanRequest("lan1");
  pcap_lan.set_format(clownix::v1::CAPTURE_FORMAT_PCAP);
  EXPECT_EQ(StartError(pcap_lan).code(), absl::StatusCode::kInvalidArgument);
  clownix::v1::CaptureRequest big = LanRequest("lan1");
  big.set_snaplen(65536);
  EXPECT_EQ(StartError(big).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StartError(clownix::v1::CaptureRequest()).code(), absl::StatusCode::kInvalidArgument);

  sw_.FailStartCapture(absl::ResourceExhaustedError("16 captures run already"), 1);
  EXPECT_EQ(StartError(LanRequest("lan1")).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(sw_.captures().empty());
}

TEST_F(CaptureManagerTest, DeletingTheVmEndsItsCapture) {
  std::unique_ptr<SwitchBackend::Capture> a = Start(NicRequest("a", 1));
  std::unique_ptr<SwitchBackend::Capture> b = Start(NicRequest("b", 1));
  ASSERT_TRUE(a && b);
  Must(DeleteVm("a"));
  absl::Status status = WaitForEnd(*a);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(status.message(), HasSubstr("vm \"a\" was deleted"));
  EXPECT_TRUE(b->TopologyStatus().ok());
}

TEST_F(CaptureManagerTest, DisconnectingTheNicEndsItsCapture) {
  std::unique_ptr<SwitchBackend::Capture> a = Start(NicRequest("a", 1));
  std::unique_ptr<SwitchBackend::Capture> b = Start(NicRequest("b", 1));
  ASSERT_TRUE(a && b);
  Must(Disconnect(EndpointRef::Nic("a", 1)));
  absl::Status status = WaitForEnd(*a);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(status.message(), HasSubstr("a/eth1 was disconnected"));
  EXPECT_TRUE(b->TopologyStatus().ok());
}

TEST_F(CaptureManagerTest, DeletingTheLanEndsItsCapture) {
  std::unique_ptr<SwitchBackend::Capture> lan2 = Start(LanRequest("lan2"));
  std::unique_ptr<SwitchBackend::Capture> lan1 = Start(LanRequest("lan1"));
  ASSERT_TRUE(lan1 && lan2);
  Must(DeleteLan("lan2"));
  absl::Status status = WaitForEnd(*lan2);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(lan1->TopologyStatus().ok());
}

TEST_F(CaptureManagerTest, ShutdownEndsEveryCapture) {
  std::unique_ptr<SwitchBackend::Capture> lan1 = Start(LanRequest("lan1"));
  ASSERT_TRUE(lan1);
  manager_->Shutdown();
  EXPECT_EQ(lan1->TopologyStatus().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StartError(LanRequest("lan1")).code(), absl::StatusCode::kUnavailable);
  // The capture may outlive its manager.
  manager_.reset();
  EXPECT_EQ(lan1->PortName(3), "port 3");
}

}  // namespace
}  // namespace clownix::server
