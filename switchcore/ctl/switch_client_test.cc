// End-to-end tests of the real clownix-switchcore binary driven through SwitchClient, with
// daemon-protocol endpoints standing where UML VMs would (the same socket calls as UML's
// daemon_user.c).
#include "switchcore/ctl/switch_client.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "switchcore/daemon_protocol.h"
#include "switchcore/testing/daemon_endpoint.h"
#include "switchcore/testing/switch_fixture.h"

namespace clownix::switchcore {
namespace {

using ::testing::HasSubstr;

// The fixture (switchcore/testing/switch_fixture.h) starts the switch on a fresh work dir.
class SwitchClientTest : public SwitchFixture {};

TEST_F(SwitchClientTest, FloodsThenLearnsAndNeverSendsBack) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  auto c = Join("blue", "c");
  ASSERT_TRUE(a && b && c);
  uint8_t buf[2048];
  // Broadcast from A reaches B and C, not A.
  auto bc = Frame(1, kBroadcast, 60, 0xaa);
  ASSERT_TRUE(a->Send(bc.data(), bc.size()).ok());
  for (auto* ep : {b.get(), c.get()}) {
    auto n = ep->Receive(buf, sizeof(buf), absl::Seconds(2));
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 60u);
    EXPECT_EQ(std::memcmp(buf, bc.data(), 60), 0);
  }
  EXPECT_FALSE(a->Receive(buf, sizeof(buf), absl::Milliseconds(100)).ok());
  // B answers A by unicast: A learned, so only A gets it.
  auto reply = Frame(2, MacOf(1).data(), 100, 0xbb);
  ASSERT_TRUE(b->Send(reply.data(), reply.size()).ok());
  auto n = a->Receive(buf, sizeof(buf), absl::Seconds(2));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 100u);
  EXPECT_FALSE(c->Receive(buf, sizeof(buf), absl::Milliseconds(100)).ok());
  // Port up events carry the learned MACs and the VMs' data addresses.
  ASSERT_TRUE(WaitEvent([&](const auto& e) {
    return e.up && e.port.mac_known && e.port.mac[5] == 2 && e.port.vm_address == b->address();
  }));
  // Counters, straight from shared memory.
  auto counters = client_->ReadCounters(PortOf(*a));
  ASSERT_TRUE(counters.ok()) << counters.status();
  EXPECT_EQ(counters->rx_frames, 1u);
  EXPECT_EQ(counters->rx_bytes, 60u);
  EXPECT_EQ(counters->tx_frames, 1u);
  EXPECT_EQ(counters->tx_bytes, 100u);
}

TEST_F(SwitchClientTest, LansAreIsolated) {
  ASSERT_TRUE(client_->CreateLan("red").ok());
  ASSERT_TRUE(client_->CreateLan("green").ok());
  auto a = Join("red", "a");
  auto b = Join("green", "b");
  auto c = Join("red", "c");
  auto bc = Frame(1, kBroadcast, 64);
  ASSERT_TRUE(a->Send(bc.data(), bc.size()).ok());
  uint8_t buf[2048];
  EXPECT_TRUE(c->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  EXPECT_FALSE(b->Receive(buf, sizeof(buf), absl::Milliseconds(200)).ok());
}

TEST_F(SwitchClientTest, HubModeFloodsUnicast) {
  ASSERT_TRUE(client_->CreateLan("hub", ctl::LanMode::kHub).ok());
  auto a = Join("hub", "a");
  auto b = Join("hub", "b");
  auto c = Join("hub", "c");
  uint8_t buf[2048];
  auto hello = Frame(2, kBroadcast, 64);
  ASSERT_TRUE(b->Send(hello.data(), hello.size()).ok());
  ASSERT_TRUE(a->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  ASSERT_TRUE(c->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  auto uni = Frame(1, MacOf(2).data(), 64);
  ASSERT_TRUE(a->Send(uni.data(), uni.size()).ok());
  EXPECT_TRUE(b->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  EXPECT_TRUE(c->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());  // a hub repeats everything
}

TEST_F(SwitchClientTest, MalformedFramesAreDroppedAndCounted) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  uint8_t buf[4096] = {};
  ASSERT_TRUE(a->Send(buf, 13).ok());  // too short
  ASSERT_TRUE(a->Send(buf, 0).ok());   // empty
  auto big = Frame(1, kBroadcast, 3000);
  ASSERT_TRUE(a->Send(big.data(), big.size()).ok());  // too long
  auto mc_src = Frame(1, kBroadcast, 64);
  mc_src[6] = 0x01;  // multicast source MAC
  ASSERT_TRUE(a->Send(mc_src.data(), mc_src.size()).ok());
  auto good = Frame(1, kBroadcast, 1518);
  ASSERT_TRUE(a->Send(good.data(), good.size()).ok());
  auto n = b->Receive(buf, sizeof(buf), absl::Seconds(2));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1518u);  // only the good one
  EXPECT_FALSE(b->Receive(buf, sizeof(buf), absl::Milliseconds(100)).ok());
  auto counters = client_->ReadCounters(PortOf(*a));
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(counters->rx_frames, 5u);
  EXPECT_EQ(counters->drops[ctl::kDropTooShort], 2u);
  EXPECT_EQ(counters->drops[ctl::kDropTooLong], 1u);
  EXPECT_EQ(counters->drops[ctl::kDropBadSource], 1u);
}

TEST_F(SwitchClientTest, ClosedControlStreamBringsPortDown) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  uint64_t id = PortOf(*a);
  ASSERT_NE(id, 0u);
  a->CloseControl();
  EXPECT_TRUE(WaitEvent([&](const auto& e) { return !e.up && e.port.port_id == id; }));
  EXPECT_TRUE(client_->Ports().empty());
}

TEST_F(SwitchClientTest, BadRequestsGetClearErrorsAndChangeNothing) {
  EXPECT_EQ(client_->CreateLan("bad/name").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->CreateLan("").code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  absl::Status again = client_->CreateLan("blue");
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.message(), HasSubstr("blue"));
  EXPECT_EQ(client_->DeleteLan("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->SetImpairment(12345, ctl::Direction::kEgress, {}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->AttachTap("nope", "tap0").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->AttachTap("blue", "bad name").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto a = Join("blue", "a");
  ctl::Impairment imp = {};
  imp.loss_ppm = 2000000;
  EXPECT_EQ(client_->SetImpairment(PortOf(*a), ctl::Direction::kEgress, imp).code(),
            absl::StatusCode::kInvalidArgument);
  // The LAN still works.
  auto b = Join("blue", "b");
  EXPECT_NE(b, nullptr);
}

TEST_F(SwitchClientTest, DeleteLanRemovesSocketAndPorts) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  std::string ctl = client_->ControlPath("blue");
  ASSERT_EQ(access(ctl.c_str(), F_OK), 0);
  ASSERT_TRUE(client_->DeleteLan("blue").ok());
  EXPECT_NE(access(ctl.c_str(), F_OK), 0);
  EXPECT_TRUE(client_->Ports().empty());
  EXPECT_TRUE(client_->CreateLan("blue").ok());
}

TEST_F(SwitchClientTest, HostileControlConnectionsAreRefusedAndNothingWedges) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  std::string path = client_->ControlPath("blue");
  auto connect_ctl = [&]() {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    return fd;
  };
  // Each malformed request: the switch closes the stream without a reply.
  DataAddress addr = AbstractAddress(Unique("hostile"));
  std::vector<std::vector<uint8_t>> bad;
  uint8_t good[kRequestSize];
  BuildRequest(addr, good);
  bad.push_back(std::vector<uint8_t>(good, good + 50));  // short, then close
  auto wrong_magic = std::vector<uint8_t>(good, good + kRequestSize);
  wrong_magic[0] ^= 1;
  bad.push_back(wrong_magic);
  auto wrong_version = std::vector<uint8_t>(good, good + kRequestSize);
  wrong_version[4] = 2;
  bad.push_back(wrong_version);
  auto wrong_family = std::vector<uint8_t>(good, good + kRequestSize);
  wrong_family[12] = AF_INET;
  bad.push_back(wrong_family);
  auto unterminated = std::vector<uint8_t>(good, good + kRequestSize);
  std::memset(unterminated.data() + 14, 'x', kSunPathSize);
  bad.push_back(unterminated);
  for (size_t i = 0; i < bad.size(); ++i) {
    int fd = connect_ctl();
    ASSERT_EQ(write(fd, bad[i].data(), bad[i].size()), static_cast<ssize_t>(bad[i].size()));
    if (i == 0) shutdown(fd, SHUT_WR);
    uint8_t reply[200];
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    // Closed without a reply (EOF, or a reset if the switch left bytes unread); not a timeout.
    errno = 0;
    ssize_t n = read(fd, reply, sizeof(reply));
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET))
        << "case " << i << ": " << n << " " << strerror(errno);
    close(fd);
  }
  // One connection that speaks half a request (first, so that it holds a handshake slot), then a
  // flood of connections that never speak (those beyond the slots are closed at once).
  signal(SIGPIPE, SIG_IGN);
  int half = connect_ctl();
  ASSERT_EQ(write(half, good, 60), 60);
  std::vector<int> silent;
  for (int i = 0; i < 200; ++i) silent.push_back(connect_ctl());
  // Meanwhile a real VM can still join once the silent ones time out or are refused, and frames
  // flow. Join retries because the flood fills the pending-handshake slots for up to 2 s.
  std::unique_ptr<DaemonEndpoint> a, b;
  absl::Time deadline = absl::Now() + absl::Seconds(6);
  while ((!a || !b) && absl::Now() < deadline) {
    if (!a) {
      auto ep = DaemonEndpoint::Connect(path, Unique("a"));
      if (ep.ok()) a = *std::move(ep);
    }
    if (!b) {
      auto ep = DaemonEndpoint::Connect(path, Unique("b"));
      if (ep.ok()) b = *std::move(ep);
    }
  }
  ASSERT_TRUE(a && b);
  auto f = Frame(1, kBroadcast, 64);
  ASSERT_TRUE(a->Send(f.data(), f.size()).ok());
  uint8_t buf[2048];
  EXPECT_TRUE(b->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  // The silent connections were closed by the switch (timeout), not left hanging.
  uint8_t byte;
  struct timeval tv = {4, 0};
  setsockopt(half, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  errno = 0;
  ssize_t n = read(half, &byte, 1);
  EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << n << " " << strerror(errno);
  for (int fd : silent) close(fd);
  close(half);
}

TEST_F(SwitchClientTest, FullReceiverDoesNotBlockOthers) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto slow = Join("blue", "slow");
  auto fast = Join("blue", "fast");
  uint8_t buf[2048];
  // Learn both MACs.
  auto hs = Frame(2, kBroadcast, 64);
  ASSERT_TRUE(slow->Send(hs.data(), hs.size()).ok());
  auto hf = Frame(3, kBroadcast, 64);
  ASSERT_TRUE(fast->Send(hf.data(), hf.size()).ok());
  while (a->Receive(buf, sizeof(buf), absl::Milliseconds(200)).ok()) {
  }
  while (slow->Receive(buf, sizeof(buf), absl::Milliseconds(50)).ok()) {
  }
  while (fast->Receive(buf, sizeof(buf), absl::Milliseconds(50)).ok()) {
  }
  auto before = client_->ReadCounters(PortOf(*slow));
  ASSERT_TRUE(before.ok());
  // A sends 2000 frames to `slow`, which does not read, interleaved with frames to `fast`.
  int sent_fast = 0, got_fast = 0;
  for (int i = 0; i < 2000; ++i) {
    auto f = Frame(1, MacOf(2).data(), 64);
    while (!a->Send(f.data(), f.size()).ok()) {
      // Our own queue to the switch is full: let the switch drain it and serve `fast`.
      if (fast->Receive(buf, sizeof(buf), absl::Milliseconds(1)).ok()) ++got_fast;
    }
    if (i % 100 == 0) {
      auto g = Frame(1, MacOf(3).data(), 64);
      while (!a->Send(g.data(), g.size()).ok()) {
        if (fast->Receive(buf, sizeof(buf), absl::Milliseconds(1)).ok()) ++got_fast;
      }
      ++sent_fast;
    }
  }
  while (got_fast < sent_fast && fast->Receive(buf, sizeof(buf), absl::Seconds(2)).ok()) ++got_fast;
  EXPECT_EQ(got_fast, sent_fast);
  auto counters = client_->ReadCounters(PortOf(*slow));
  ASSERT_TRUE(counters.ok());
  EXPECT_GT(counters->drops[ctl::kDropQueueFull], 0u);
  // `slow` finally reads: queue (10) plus the backlog arrive, in order, none lost beyond drops.
  int got_slow = 0;
  while (slow->Receive(buf, sizeof(buf), absl::Milliseconds(300)).ok()) ++got_slow;
  counters = client_->ReadCounters(PortOf(*slow));
  EXPECT_EQ(static_cast<uint64_t>(got_slow), counters->tx_frames - before->tx_frames);
  EXPECT_EQ(counters->tx_frames - before->tx_frames + counters->drops[ctl::kDropQueueFull], 2000u);
  EXPECT_GT(got_slow, 10);  // the backlog helped
}

TEST_F(SwitchClientTest, ImpairmentsDelayAndDropLive) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  uint8_t buf[2048];
  ctl::Impairment delay = {};
  delay.delay_us = 80000;
  ASSERT_TRUE(client_->SetImpairment(PortOf(*b), ctl::Direction::kEgress, delay).ok());
  auto f = Frame(1, kBroadcast, 64);
  absl::Time t0 = absl::Now();
  ASSERT_TRUE(a->Send(f.data(), f.size()).ok());
  ASSERT_TRUE(b->Receive(buf, sizeof(buf), absl::Seconds(10)).ok());
  // The delay is a floor: a frame never leaves before it is due, however busy the machine (no
  // upper bound: a busy machine only adds time).
  EXPECT_GE(absl::Now() - t0, absl::Milliseconds(79));
  // Loss 100% on A's ingress: nothing arrives, counted.
  ctl::Impairment loss = {};
  loss.loss_ppm = 1000000;
  ASSERT_TRUE(client_->SetImpairment(PortOf(*a), ctl::Direction::kIngress, loss).ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(a->Send(f.data(), f.size()).ok());
  EXPECT_TRUE(WaitCounters(PortOf(*a), [](const SwitchClient::Counters& c) {
    return c.drops[ctl::kDropImpairLoss] == 20;
  }));
  // All 20 are accounted for as dropped at A's ingress: none can still reach B.
  EXPECT_FALSE(b->Receive(buf, sizeof(buf), absl::Milliseconds(100)).ok());
  // Changed and cleared live. A frame taken in while B's egress delays by 60 s keeps its due time;
  // a frame sent after the delay is cleared is not delayed at all, so it arrives first.
  ASSERT_TRUE(client_->SetImpairment(PortOf(*a), ctl::Direction::kIngress, {}).ok());
  delay.delay_us = 60 * 1000 * 1000;
  ASSERT_TRUE(client_->SetImpairment(PortOf(*b), ctl::Direction::kEgress, delay).ok());
  auto held = Frame(1, kBroadcast, 64, 0x01);
  auto fresh = Frame(1, kBroadcast, 64, 0x02);
  auto received_before = client_->ReadCounters(PortOf(*a));
  ASSERT_TRUE(received_before.ok());
  ASSERT_TRUE(a->Send(held.data(), held.size()).ok());
  ASSERT_TRUE(WaitCounters(PortOf(*a), [&](const SwitchClient::Counters& c) {
    return c.rx_frames == received_before->rx_frames + 1;  // `held` is in the switch
  }));
  ASSERT_TRUE(client_->SetImpairment(PortOf(*b), ctl::Direction::kEgress, {}).ok());
  ASSERT_TRUE(a->Send(fresh.data(), fresh.size()).ok());
  auto n = b->Receive(buf, sizeof(buf), absl::Seconds(10));
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(*n, fresh.size());
  EXPECT_EQ(buf[fresh.size() - 1], 0x02) << "the frame held by the 60 s delay overtook";
  // Duplication 100%: two copies.
  ctl::Impairment dup = {};
  dup.duplicate_ppm = 1000000;
  ASSERT_TRUE(client_->SetImpairment(PortOf(*b), ctl::Direction::kEgress, dup).ok());
  ASSERT_TRUE(a->Send(f.data(), f.size()).ok());
  EXPECT_TRUE(b->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  EXPECT_TRUE(b->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  EXPECT_FALSE(b->Receive(buf, sizeof(buf), absl::Milliseconds(100)).ok());
}

TEST_F(SwitchClientTest, RestartAfterSigkillKeepsFramesFlowingWithoutTouchingEndpoints) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  uint8_t buf[2048];
  auto fa = Frame(1, kBroadcast, 64);
  auto fb = Frame(2, MacOf(1).data(), 64);
  ASSERT_TRUE(a->Send(fa.data(), fa.size()).ok());
  ASSERT_TRUE(b->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  ASSERT_TRUE(b->Send(fb.data(), fb.size()).ok());
  ASSERT_TRUE(a->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  uint64_t id_a = PortOf(*a);
  ctl::Impairment delay = {};
  delay.delay_us = 30000;
  ASSERT_TRUE(client_->SetImpairment(PortOf(*b), ctl::Direction::kEgress, delay).ok());
  ASSERT_TRUE(WaitEvent([&](const auto& e) { return e.port.mac_known && e.port.mac[5] == 2; }));

  pid_t old_pid = client_->pid();
  absl::Time killed = absl::Now();
  ASSERT_EQ(kill(old_pid, SIGKILL), 0);
  // The endpoints keep sending to the addresses they were given; frames flow again. How long that
  // takes is measured (recovery_ms), not asserted: the deadline only bounds the wait.
  bool flowing = false;
  while (!flowing && absl::Now() - killed < absl::Seconds(30)) {
    // A send fails while no switch holds the data address (nobody bound it): keep trying.
    (void)a->Send(fa.data(), fa.size());
    flowing = b->Receive(buf, sizeof(buf), absl::Milliseconds(50)).ok();
  }
  EXPECT_TRUE(flowing) << "no frame within 30 s of SIGKILL";
  absl::Duration recovery = absl::Now() - killed;
  RecordProperty("recovery_ms", static_cast<int>(absl::ToInt64Milliseconds(recovery)));
  printf("frames flowed again %s after SIGKILL\n", absl::FormatDuration(recovery).c_str());
  EXPECT_EQ(client_->restarts(), 1);
  EXPECT_NE(client_->pid(), old_pid);
  ASSERT_TRUE(client_->WaitReady(absl::Seconds(10)).ok());
  // Same port ids; the impairment came back (b's egress still delayed); unicast still learned.
  EXPECT_EQ(PortOf(*a), id_a);
  while (b->Receive(buf, sizeof(buf), absl::Milliseconds(100)).ok()) {
  }
  absl::Time t0 = absl::Now();
  ASSERT_TRUE(a->Send(fa.data(), fa.size()).ok());
  ASSERT_TRUE(b->Receive(buf, sizeof(buf), absl::Seconds(10)).ok());
  EXPECT_GE(absl::Now() - t0, absl::Milliseconds(29));  // the 30 ms delay's floor
  ASSERT_TRUE(b->Send(fb.data(), fb.size()).ok());
  EXPECT_TRUE(a->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  // New VMs can still join.
  EXPECT_NE(Join("blue", "c"), nullptr);
}

TEST_F(SwitchClientTest, MacFloodDoesNotBreakLearning) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  auto flooder = Join("blue", "flooder");
  uint8_t buf[2048];
  auto fa = Frame(1, kBroadcast, 64);
  auto fb = Frame(2, kBroadcast, 64);
  ASSERT_TRUE(a->Send(fa.data(), fa.size()).ok());
  ASSERT_TRUE(b->Send(fb.data(), fb.size()).ok());
  // The flooder sprays 20000 frames from random source MACs.
  uint32_t x = 1;
  for (int i = 0; i < 20000; ++i) {
    auto f = Frame(0, kBroadcast, 64);
    x = x * 1103515245 + 12345;
    std::memcpy(f.data() + 8, &x, 4);
    while (!flooder->Send(f.data(), f.size()).ok()) {
      while (a->Receive(buf, sizeof(buf), absl::Milliseconds(0)).ok()) {
      }
      while (b->Receive(buf, sizeof(buf), absl::Milliseconds(0)).ok()) {
      }
    }
  }
  while (a->Receive(buf, sizeof(buf), absl::Milliseconds(100)).ok()) {
  }
  while (b->Receive(buf, sizeof(buf), absl::Milliseconds(100)).ok()) {
  }
  while (flooder->Receive(buf, sizeof(buf), absl::Milliseconds(100)).ok()) {
  }
  // A and B are still known: unicast between them is not flooded to the flooder.
  auto ab = Frame(1, MacOf(2).data(), 64);
  ASSERT_TRUE(a->Send(ab.data(), ab.size()).ok());
  EXPECT_TRUE(b->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  EXPECT_FALSE(flooder->Receive(buf, sizeof(buf), absl::Milliseconds(200)).ok());
}

TEST_F(SwitchClientTest, VmGoneDuringRestartIsReportedDown) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  uint64_t id_b = PortOf(*b);
  ASSERT_NE(id_b, 0u);
  ASSERT_EQ(client_->pid() > 0, true);
  pid_t old = client_->pid();
  // B's data socket disappears while the switch is down: the restore must fail cleanly.
  ASSERT_EQ(kill(old, SIGSTOP), 0);
  b.reset();
  ASSERT_EQ(kill(old, SIGKILL), 0);
  EXPECT_TRUE(WaitEvent([&](const auto& e) { return !e.up && e.port.port_id == id_b; }));
  ASSERT_TRUE(client_->WaitReady(absl::Seconds(3)).ok());
  auto ports = client_->Ports();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_TRUE(ports[0].vm_address == a->address());
}

TEST_F(SwitchClientTest, NewClientRestoresPortsOfRunningVms) {
  // clownixd restarts: its switch goes with it, the VMs stay; the new clownixd restores the ports
  // it had persisted and frames flow again.
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  uint8_t buf[2048];
  auto fa = Frame(1, kBroadcast, 64);
  ASSERT_TRUE(a->Send(fa.data(), fa.size()).ok());
  ASSERT_TRUE(b->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  PortOf(*a);
  PortOf(*b);
  std::vector<SwitchClient::PortInfo> persisted = client_->Ports();
  ASSERT_EQ(persisted.size(), 2u);
  client_.reset();
  EXPECT_FALSE(a->Send(fa.data(), fa.size()).ok());  // nobody at the data address now

  SwitchClient::Options options;
  options.switchcore_path = Binary();
  options.work_dir = work_dir_;
  auto client = SwitchClient::Create(options);
  ASSERT_TRUE(client.ok());
  client_ = *std::move(client);
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  for (const auto& p : persisted) EXPECT_TRUE(client_->RestorePort(p).ok()) << p.port_id;
  EXPECT_EQ(client_->RestorePort(persisted[0]).status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(a->Send(fa.data(), fa.size()).ok());
  EXPECT_TRUE(b->Receive(buf, sizeof(buf), absl::Seconds(2)).ok());
  // A new VM gets an id distinct from the restored ones.
  auto c = Join("blue", "c");
  uint64_t id_c = PortOf(*c);
  EXPECT_NE(id_c, 0u);
  for (const auto& p : persisted) EXPECT_NE(p.port_id, id_c);
  EXPECT_EQ(client_->Ports().size(), 3u);
}

TEST_F(SwitchClientTest, UnansweredRequestTimesOutUnavailable) {
  pid_t pid = client_->pid();
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  // A stopped switch neither answers nor dies: the call returns because its request timed out
  // (not because the switch exited or was restarting, which are other UNAVAILABLE answers).
  absl::Status s = client_->CreateLan("blue");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("did not answer within 2s")) << s;
  EXPECT_EQ(client_->pid(), pid);
  EXPECT_EQ(client_->restarts(), 0);
  ASSERT_EQ(kill(pid, SIGCONT), 0);
}

}  // namespace
}  // namespace clownix::switchcore
