// What the switch promises about who reaches a LAN and how LANs share it (issue 10), tested on
// the real clownix-switchcore binary with daemon-protocol endpoints standing where UML VMs would:
// - a LAN's control socket is reachable by VMs running as their own unprivileged uids, and only
//   root, the switch's uid and the configured VM uids may join (SO_PEERCRED);
// - a port's data socket takes frames only from its VM, after a switch restart too;
// - a broadcast storm on one LAN does not stop forwarding on another.
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "switchcore/ctl/ctl_layout.h"
#include "switchcore/ctl/switch_client.h"
#include "switchcore/daemon_protocol.h"
#include "switchcore/peer_policy.h"
#include "switchcore/testing/daemon_endpoint.h"
#include "switchcore/testing/switch_fixture.h"

namespace clownix::switchcore {
namespace {

constexpr uid_t kVmUidFirst = 61000;
constexpr uid_t kVmUidLast = 61009;

class IsolationTest : public SwitchFixture {
 protected:
  IsolationTest() { options_.vm_uids = UidRange{kVmUidFirst, kVmUidLast}; }
};

// How a child that tried to join a LAN as another uid ended (its exit code).
enum JoinResult : int {
  kJoined = 0,        // answered, sent a frame, and received one back
  kClosed = 1,        // the switch closed the control stream without answering
  kCannotBecome = 2,  // setresuid failed: this environment cannot run the test
  kNoAccess = 3,      // connect() refused by file permissions (socket or directory modes)
  kNoFrameBack = 4,   // joined, but no frame came back within 10 s
  kFailed = 5,        // anything else
};

const char* Describe(int result) {
  switch (result) {
    case kJoined:
      return "joined";
    case kClosed:
      return "closed without a reply";
    case kCannotBecome:
      return "could not change uid";
    case kNoAccess:
      return "connect refused by file permissions";
    case kNoFrameBack:
      return "joined but no frame came back";
    default:
      return "failed";
  }
}

// Everything a joining child needs, prepared by the parent: the test process has threads (the
// client's supervisor), so the child makes system calls only, nothing that allocates or locks.
struct JoinPlan {
  uid_t uid = 0;
  struct sockaddr_un ctl = {};
  DataAddress data{};     // the child's own data address
  bool bind_data = true;  // false: name `data` in the request without binding it
  uint8_t request[kRequestSize] = {};
  std::vector<uint8_t> frame;
};

[[noreturn]] void JoinAs(const JoinPlan& plan) {
  if (setgroups(0, nullptr) != 0 || setresgid(plan.uid, plan.uid, plan.uid) != 0 ||
      setresuid(plan.uid, plan.uid, plan.uid) != 0) {
    _exit(kCannotBecome);
  }
  int data = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (data < 0) _exit(kFailed);
  if (plan.bind_data &&
      bind(data, reinterpret_cast<const sockaddr*>(&plan.data.addr), sizeof(plan.data.addr)) != 0) {
    _exit(kFailed);
  }
  int ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ctl < 0) _exit(kFailed);
  if (connect(ctl, reinterpret_cast<const sockaddr*>(&plan.ctl), sizeof(plan.ctl)) != 0) {
    _exit(errno == EACCES ? kNoAccess : kFailed);
  }
  if (send(ctl, plan.request, kRequestSize, MSG_NOSIGNAL) != static_cast<ssize_t>(kRequestSize)) {
    _exit(errno == EPIPE || errno == ECONNRESET ? kClosed : kFailed);
  }
  struct pollfd pfd = {ctl, POLLIN, 0};
  if (poll(&pfd, 1, 10000) != 1) _exit(kFailed);
  struct sockaddr_un reply;
  ssize_t n = read(ctl, &reply, sizeof(reply));
  if (n == 0 || (n < 0 && errno == ECONNRESET)) _exit(kClosed);
  if (n != static_cast<ssize_t>(sizeof(reply))) _exit(kFailed);
  if (sendto(data, plan.frame.data(), plan.frame.size(), 0, reinterpret_cast<sockaddr*>(&reply),
             sizeof(reply)) != static_cast<ssize_t>(plan.frame.size())) {
    _exit(kFailed);
  }
  pfd = {data, POLLIN, 0};
  if (poll(&pfd, 1, 10000) != 1) _exit(kNoFrameBack);
  _exit(kJoined);
}

// Whether a child can become `uid` (root outside a user namespace can).
bool CanBecome(uid_t uid) {
  pid_t pid = fork();
  if (pid == 0) _exit(setresuid(uid, uid, uid) == 0 ? 0 : 1);
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

// Forks a child that joins `ctl_path` as `uid`; returns its pid.
pid_t StartJoin(JoinPlan& plan, const std::string& ctl_path) {
  plan.ctl.sun_family = AF_UNIX;
  std::strncpy(plan.ctl.sun_path, ctl_path.c_str(), sizeof(plan.ctl.sun_path) - 1);
  BuildRequest(plan.data, plan.request);
  pid_t pid = fork();
  if (pid == 0) JoinAs(plan);
  return pid;
}

int WaitJoin(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return kFailed;
  return WEXITSTATUS(status);
}

TEST_F(IsolationTest, OnlyRootAndVmUidsJoinALan) {
  if (!CanBecome(kVmUidFirst)) GTEST_SKIP() << "this test must run as root, outside a sandbox";
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto b = Join("blue", "b");  // root: the tests, and clownixd itself
  ASSERT_NE(b, nullptr);
  uint8_t buf[2048];

  // A VM's uid joins, and frames flow both ways.
  JoinPlan vm;
  vm.uid = kVmUidFirst + 3;
  vm.data = AbstractAddress(Unique("vm"));
  vm.frame = Frame(7, kBroadcast, 64, 0x77);
  pid_t pid = StartJoin(vm, client_->ControlPath("blue"));
  ASSERT_GT(pid, 0);
  absl::StatusOr<size_t> got = b->Receive(buf, sizeof(buf), absl::Seconds(10));
  if (got.ok()) {
    EXPECT_EQ(buf[63], 0x77);
    auto back = Frame(2, kBroadcast, 64);
    EXPECT_TRUE(b->Send(back.data(), back.size()).ok());
  }
  int result = WaitJoin(pid);
  EXPECT_EQ(result, kJoined) << Describe(result);
  EXPECT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(WaitEvent([&](const auto& e) { return e.up && e.port.vm_address == vm.data; }));
  // The child is gone, its control stream with it: its port goes down.
  EXPECT_TRUE(WaitEvent([&](const auto& e) { return !e.up && e.port.vm_address == vm.data; }));
  EXPECT_EQ(client_->peers_refused(), 0u);

  // Users outside the range, just past it and far from it, are closed at once and counted.
  int refused = 0;
  for (uid_t uid : {kVmUidLast + 1, kVmUidFirst - 1, uid_t{65534}}) {
    JoinPlan other;
    other.uid = uid;
    other.data = AbstractAddress(Unique(absl::StrCat("intruder-", uid)));
    other.frame = Frame(8, kBroadcast, 64);
    result = WaitJoin(StartJoin(other, client_->ControlPath("blue")));
    EXPECT_EQ(result, kClosed) << "uid " << uid << ": " << Describe(result);
    EXPECT_EQ(client_->peers_refused(), static_cast<uint64_t>(++refused)) << "uid " << uid;
    for (const auto& p : client_->Ports()) EXPECT_FALSE(p.vm_address == other.data);
  }
  EXPECT_FALSE(b->Receive(buf, sizeof(buf), absl::Milliseconds(100)).ok());

  // A VM's uid may not have the switch (root) connect to a filesystem socket for it.
  JoinPlan path;
  path.uid = kVmUidLast;
  path.data = AbstractAddress("");
  std::strncpy(path.data.addr.sun_path, "/dev/log", sizeof(path.data.addr.sun_path) - 1);
  path.bind_data = false;
  path.frame = Frame(9, kBroadcast, 64);
  result = WaitJoin(StartJoin(path, client_->ControlPath("blue")));
  EXPECT_EQ(result, kClosed) << Describe(result);
  EXPECT_EQ(client_->Ports().size(), 1u);   // b only
  EXPECT_EQ(client_->peers_refused(), 3u);  // refused for what it asked, not for who it is

  // The LAN still works for root.
  auto c = Join("blue", "c");
  EXPECT_NE(c, nullptr);
}

TEST_F(IsolationTest, BadVmUidRangeIsRefused) {
  SwitchClient::Options options = options_;
  options.vm_uids = UidRange{0, 10};
  EXPECT_EQ(SwitchClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.vm_uids = UidRange{10, 9};
  EXPECT_EQ(SwitchClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

// Sends `frame` from a socket that is not `vm`'s to the switch's data address for `vm`; returns
// errno (0 if the kernel took it).
int SendAsStranger(const DaemonEndpoint& stranger, const DaemonEndpoint& vm,
                   const std::vector<uint8_t>& frame) {
  ssize_t n = sendto(stranger.data_fd(), frame.data(), frame.size(), MSG_DONTWAIT,
                     reinterpret_cast<const sockaddr*>(&vm.peer().addr), sizeof(vm.peer().addr));
  return n < 0 ? errno : 0;
}

TEST_F(IsolationTest, DataSocketsTakeFramesOnlyFromTheirVmAfterRestartsToo) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  ASSERT_TRUE(a && b);
  auto stranger = DaemonEndpoint::Unconnected(Unique("stranger"));
  ASSERT_TRUE(stranger.ok());
  uint8_t buf[2048];
  auto from_a = Frame(1, kBroadcast, 64, 0xa1);
  auto forged = Frame(1, kBroadcast, 64, 0xee);  // claims to be A

  auto check = [&](const std::string& when) {
    // The kernel refuses the stranger: the port's socket is connected to A's.
    EXPECT_EQ(SendAsStranger(**stranger, *a, forged), EPERM) << when;
    // A itself gets through.
    ASSERT_TRUE(a->Send(from_a.data(), from_a.size()).ok()) << when;
    absl::StatusOr<size_t> n = b->Receive(buf, sizeof(buf), absl::Seconds(5));
    ASSERT_TRUE(n.ok()) << when << ": " << n.status();
    EXPECT_EQ(buf[63], 0xa1) << when;
    EXPECT_FALSE(b->Receive(buf, sizeof(buf), absl::Milliseconds(100)).ok()) << when;
  };
  check("first switch");
  std::vector<SwitchClient::PortInfo> ports = client_->Ports();

  // The supervisor restarts a killed switch, which restores the ports.
  ASSERT_EQ(kill(client_->pid(), SIGKILL), 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (client_->restarts() < 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));  // no notification for a restart: poll until deadline
  }
  ASSERT_EQ(client_->restarts(), 1);
  ASSERT_TRUE(client_->WaitReady(absl::Seconds(10)).ok());
  check("restarted switch");

  // A new client (clownixd restarted) restores the ports through RestorePort.
  client_.reset();
  absl::StatusOr<std::unique_ptr<SwitchClient>> client = SwitchClient::Create(options_);
  ASSERT_TRUE(client.ok()) << client.status();
  client_ = *std::move(client);
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  for (const auto& p : ports) ASSERT_TRUE(client_->RestorePort(p).ok()) << p.port_id;
  check("new client");
}

TEST_F(IsolationTest, BroadcastStormOnOneLanDoesNotStopAnother) {
  constexpr int kRoundTrips = 300;
  ASSERT_TRUE(client_->CreateLan("storm").ok());
  ASSERT_TRUE(client_->CreateLan("calm").ok());
  auto flooder = Join("storm", "flooder");
  auto sink = Join("storm", "sink");
  auto b1 = Join("calm", "b1");
  auto b2 = Join("calm", "b2");
  ASSERT_TRUE(flooder && sink && b1 && b2);
  uint8_t buf[2048];
  // The calm LAN learns both MACs.
  auto hello1 = Frame(11, kBroadcast, 64);
  ASSERT_TRUE(b1->Send(hello1.data(), hello1.size()).ok());
  ASSERT_TRUE(b2->Receive(buf, sizeof(buf), absl::Seconds(5)).ok());
  auto hello2 = Frame(12, kBroadcast, 64);
  ASSERT_TRUE(b2->Send(hello2.data(), hello2.size()).ok());
  ASSERT_TRUE(b1->Receive(buf, sizeof(buf), absl::Seconds(5)).ok());
  const uint64_t flooder_port = PortOf(*flooder);
  const uint64_t sink_port = PortOf(*sink);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sunk{0};
  // The flooder sends broadcasts as fast as it can and never waits: a full queue at the switch
  // (EAGAIN) is simply tried again.
  std::thread flood([&] {
    auto f = Frame(1, kBroadcast, 64);
    const DataAddress& to = flooder->peer();
    while (!stop.load(std::memory_order_relaxed)) {
      (void)sendto(flooder->data_fd(), f.data(), f.size(), MSG_DONTWAIT,
                   reinterpret_cast<const sockaddr*>(&to.addr), sizeof(to.addr));
    }
  });
  // The other end of the storm reads everything it can, so the switch really forwards it.
  std::thread drain([&] {
    uint8_t b[2048];
    struct pollfd pfd = {sink->data_fd(), POLLIN, 0};
    while (!stop.load(std::memory_order_relaxed)) {
      if (poll(&pfd, 1, 100) != 1) continue;
      while (recv(sink->data_fd(), b, sizeof(b), MSG_DONTWAIT) > 0) {
        sunk.fetch_add(1, std::memory_order_relaxed);
      }
    }
  });
  // The storm is raging before the calm LAN starts talking.
  EXPECT_TRUE(WaitCounters(
      flooder_port, [](const SwitchClient::Counters& c) { return c.rx_frames >= 10000; },
      absl::Seconds(60)));
  absl::StatusOr<SwitchClient::Counters> flooder_before = client_->ReadCounters(flooder_port);
  absl::StatusOr<SwitchClient::Counters> sink_before = client_->ReadCounters(sink_port);
  const uint64_t sunk_before = sunk.load();

  // Request/response on the calm LAN, each answer checked, all before a generous deadline.
  int completed = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  for (int i = 0; i < kRoundTrips && absl::Now() < deadline; ++i) {
    uint8_t marker = static_cast<uint8_t>(i);
    auto request = Frame(11, MacOf(12).data(), 64, marker);
    if (!b1->Send(request.data(), request.size()).ok()) break;
    absl::StatusOr<size_t> n = b2->Receive(buf, sizeof(buf), absl::Seconds(10));
    if (!n.ok() || *n != 64 || buf[63] != marker) break;
    auto response = Frame(12, MacOf(11).data(), 64, marker);
    if (!b2->Send(response.data(), response.size()).ok()) break;
    n = b1->Receive(buf, sizeof(buf), absl::Seconds(10));
    if (!n.ok() || *n != 64 || buf[63] != marker) break;
    ++completed;
  }
  absl::StatusOr<SwitchClient::Counters> flooder_after = client_->ReadCounters(flooder_port);
  absl::StatusOr<SwitchClient::Counters> sink_after = client_->ReadCounters(sink_port);
  const uint64_t sunk_after = sunk.load();
  stop = true;
  flood.join();
  drain.join();

  EXPECT_EQ(completed, kRoundTrips);
  // The storm ran all along: the switch kept taking the flooder's frames and passing them to the
  // sink (or dropping them there, counted, when it could not keep up).
  ASSERT_TRUE(flooder_before.ok() && flooder_after.ok() && sink_before.ok() && sink_after.ok());
  EXPECT_GT(flooder_after->rx_frames, flooder_before->rx_frames);
  auto handled = [](const SwitchClient::Counters& c) {
    return c.tx_frames + c.drops[ctl::kDropQueueFull];
  };
  EXPECT_GT(handled(*sink_after), handled(*sink_before));
  EXPECT_GT(sunk_after, sunk_before);
  RecordProperty("storm_frames_during_exchange",
                 static_cast<int>(flooder_after->rx_frames - flooder_before->rx_frames));
  printf("%d round trips on the calm LAN while the switch took %llu storm frames\n", completed,
         static_cast<unsigned long long>(flooder_after->rx_frames - flooder_before->rx_frames));
}

}  // namespace
}  // namespace clownix::switchcore
