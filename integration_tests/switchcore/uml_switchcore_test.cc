// clownix-switchcore with real UML VMs: two VMs on one LAN ping each other, a VM on another LAN
// cannot reach them, a tap inside a network namespace made by the test pings a VM, impairments
// add their delay and loss as configured, and a SIGKILLed switchcore comes back through
// SwitchClient's supervisor with ping resuming without touching the VMs.
// All addresses live on the VMs and inside the test's namespace; nothing leaves the machine.
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/switchcore/uml_vm.h"
#include "switchcore/ctl/switch_client.h"

namespace clownix::switchcore {
namespace {

std::string Runfile(const std::string& path) {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/clownix/", path);
}

int Sh(const std::string& cmd) {
  int rc = system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Output of a host command.
std::string Capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

struct PingResult {
  int transmitted = 0, received = 0;
  double avg_ms = -1;
};

// Parses busybox ping's summary lines.
PingResult ParsePing(const std::string& out) {
  PingResult r;
  size_t p = out.find("packets transmitted");
  if (p != std::string::npos) {
    size_t line = out.rfind('\n', p);
    line = line == std::string::npos ? 0 : line + 1;
    sscanf(out.c_str() + line, "%d packets transmitted, %d packets received", &r.transmitted,
           &r.received);
  }
  p = out.find("round-trip min/avg/max = ");
  if (p != std::string::npos) {
    double mn, avg, mx;
    if (sscanf(out.c_str() + p, "round-trip min/avg/max = %lf/%lf/%lf", &mn, &avg, &mx) == 3) {
      r.avg_ms = avg;
    }
  }
  return r;
}

// A child process in a fresh network namespace, killed and reaped on destruction.
class NetnsHolder {
 public:
  NetnsHolder() {
    int p[2];
    if (pipe(p) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(p[0]);
      char ok = unshare(CLONE_NEWNET) == 0 ? 1 : 0;
      if (write(p[1], &ok, 1) != 1) _exit(1);
      for (;;) pause();
    }
    close(p[1]);
    char ok = 0;
    if (read(p[0], &ok, 1) != 1 || !ok) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    close(p[0]);
  }
  ~NetnsHolder() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

class UmlSwitchcoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The whole test (switchcore, the VMs, the tap) lives in a network namespace of its own:
    // abstract unix addresses and taps are per namespace, and nothing can reach the host's.
    // Bazel's sandbox runs tests in a user namespace without rights over the host's network,
    // so this is also what lets switchcore create a tap here.
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << strerror(errno);
    char tmpl[] = "/tmp/scit.XXXXXX";
    work_dir_ = new std::string(mkdtemp(tmpl));
    SwitchClient::Options options;
    options.switchcore_path = Runfile("switchcore/clownix-switchcore");
    options.work_dir = *work_dir_;
    auto client = SwitchClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = client->release();
    ASSERT_TRUE(client_->CreateLan("lan1").ok());
    ASSERT_TRUE(client_->CreateLan("lan2").ok());
    struct VmDef {
      const char* name;
      const char* lan;
      const char* mac;
      const char* ip;
    } defs[] = {{"vm1", "lan1", "02:00:00:01:00:00", "10.0.0.1/24"},
                {"vm2", "lan1", "02:00:00:02:00:00", "10.0.0.2/24"},
                {"vm3", "lan2", "02:00:00:03:00:00", "10.0.0.3/24"}};
    for (int i = 0; i < 3; ++i) {
      UmlVm::Spec spec;
      spec.name = defs[i].name;
      spec.work_dir = *work_dir_;
      spec.root_fs = Runfile("vmm/rootfs/rootfs.img");
      spec.xstate_lib = Runfile("vmm/xstate/libuml_xstate_fix.so");
      spec.ctl_path = client_->ControlPath(defs[i].lan);
      spec.mac = defs[i].mac;
      spec.ip_cidr = defs[i].ip;
      auto vm = UmlVm::Boot(spec, absl::Seconds(60));
      ASSERT_TRUE(vm.ok()) << vm.status();
      vms_[i] = vm->release();
    }
  }

  static void TearDownTestSuite() {
    for (UmlVm*& vm : vms_) {
      delete vm;
      vm = nullptr;
    }
    delete client_;
    client_ = nullptr;
    if (work_dir_ != nullptr) {
      Sh(absl::StrCat("rm -rf '", *work_dir_, "'"));
      delete work_dir_;
    }
  }

  void SetUp() override { ASSERT_NE(vms_[2], nullptr) << "VMs did not boot"; }

  static PingResult Ping(UmlVm& vm, const std::string& target, const std::string& opts) {
    auto out = vm.Run(absl::StrCat("ping ", opts, " ", target), absl::Seconds(60));
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? ParsePing(*out) : PingResult{};
  }

  static uint64_t PortOfMac(const std::string& mac_suffix_vm) {
    // VM n's MAC is 02:00:00:0n:00:00.
    int n = std::stoi(mac_suffix_vm);
    for (const auto& p : client_->Ports()) {
      if (p.kind == ctl::PortKind::kVm && p.mac_known && p.mac[3] == n) return p.port_id;
    }
    return 0;
  }

  static std::string* work_dir_;
  static SwitchClient* client_;
  static UmlVm* vms_[3];
};

std::string* UmlSwitchcoreTest::work_dir_ = nullptr;
SwitchClient* UmlSwitchcoreTest::client_ = nullptr;
UmlVm* UmlSwitchcoreTest::vms_[3] = {nullptr, nullptr, nullptr};

TEST_F(UmlSwitchcoreTest, TwoVmsOnOneLanPingEachOther) {
  PingResult r = Ping(*vms_[0], "10.0.0.2", "-c 3 -W 2");
  EXPECT_EQ(r.received, 3) << vms_[0]->Console();
  r = Ping(*vms_[1], "10.0.0.1", "-c 3 -W 2");
  EXPECT_EQ(r.received, 3);
  // The switch learned both VMs' MACs and reported them with their data addresses.
  EXPECT_NE(PortOfMac("1"), 0u);
  EXPECT_NE(PortOfMac("2"), 0u);
  auto counters = client_->ReadCounters(PortOfMac("2"));
  ASSERT_TRUE(counters.ok());
  EXPECT_GE(counters->rx_frames, 6u);
}

TEST_F(UmlSwitchcoreTest, VmOnAnotherLanCannotReachThem) {
  PingResult r = Ping(*vms_[2], "10.0.0.1", "-c 3 -W 1");
  EXPECT_EQ(r.transmitted, 3);
  EXPECT_EQ(r.received, 0);
  // And it still reaches nobody on lan1 while lan1 works.
  EXPECT_EQ(Ping(*vms_[0], "10.0.0.2", "-c 1 -W 2").received, 1);
}

TEST_F(UmlSwitchcoreTest, TapInANetworkNamespacePingsAVm) {
  // A second namespace for the host side of the tap, held by a child process; it goes away with
  // the child. (`ip netns add` needs a writable /run/netns, which Bazel's sandbox does not give.)
  NetnsHolder ns;
  ASSERT_GT(ns.pid(), 0);
  std::string tap = absl::StrCat("sct", getpid() % 100000);
  std::string in_ns = absl::StrCat("nsenter -t ", ns.pid(), " -n ");
  auto tap_port = client_->AttachTap("lan1", tap);
  ASSERT_TRUE(tap_port.ok()) << tap_port.status();
  // The tap was made in switchcore's (the test's) namespace; move it to the peer namespace.
  EXPECT_EQ(Sh(absl::StrCat("ip link set ", tap, " netns ", ns.pid())), 0);
  EXPECT_EQ(Sh(absl::StrCat(in_ns, "ip addr add 10.0.0.100/24 dev ", tap)), 0);
  EXPECT_EQ(Sh(absl::StrCat(in_ns, "ip link set ", tap, " up")), 0);
  std::string out = Capture(absl::StrCat(in_ns, "busybox ping -c 3 -W 2 10.0.0.1 2>&1"));
  PingResult r = ParsePing(out);
  EXPECT_EQ(r.received, 3) << out;
  auto counters = client_->ReadCounters(*tap_port);
  ASSERT_TRUE(counters.ok());
  EXPECT_GE(counters->tx_frames, 3u);
  EXPECT_GE(counters->rx_frames, 3u);
  EXPECT_TRUE(client_->DetachTap(*tap_port).ok());
}

TEST_F(UmlSwitchcoreTest, ImpairmentsChangeRttAndLoss) {
  uint64_t vm2 = PortOfMac("2");
  ASSERT_NE(vm2, 0u);
  PingResult base = Ping(*vms_[0], "10.0.0.2", "-c 5 -i 0.2 -W 2");
  ASSERT_EQ(base.received, 5);
  // 40 ms each way on vm2's port: every request waits 40 ms on the way in, every reply 40 ms on
  // the way out, so no round trip can be shorter than 80 ms (a floor: a busy machine only adds).
  ctl::Impairment delay = {};
  delay.delay_us = 40000;
  ASSERT_TRUE(client_->SetImpairment(vm2, ctl::Direction::kEgress, delay).ok());
  ASSERT_TRUE(client_->SetImpairment(vm2, ctl::Direction::kIngress, delay).ok());
  PingResult slow = Ping(*vms_[0], "10.0.0.2", "-c 5 -i 0.2 -W 2");
  EXPECT_EQ(slow.received, 5);
  EXPECT_GE(slow.avg_ms, 79) << base.avg_ms << " -> " << slow.avg_ms;
  // 50 % loss towards vm2 (and no delay): about half the pings die.
  ctl::Impairment loss = {};
  loss.loss_ppm = 500000;
  ASSERT_TRUE(client_->SetImpairment(vm2, ctl::Direction::kEgress, loss).ok());
  ASSERT_TRUE(client_->SetImpairment(vm2, ctl::Direction::kIngress, {}).ok());
  PingResult lossy = Ping(*vms_[0], "10.0.0.2", "-c 40 -i 0.05 -W 1");
  EXPECT_EQ(lossy.transmitted, 40);
  EXPECT_GE(lossy.received, 8);  // binomial(40, 0.5): outside [8, 32] has p < 1e-4
  EXPECT_LE(lossy.received, 32);
  auto counters = client_->ReadCounters(vm2);
  ASSERT_TRUE(counters.ok());
  EXPECT_GE(counters->drops[ctl::kDropImpairLoss], 8u);
  // Cleared: back to normal. Every ping is answered and the switch drops nothing more for loss
  // (with 50 % loss left, 10 of 10 would come back once in a thousand runs).
  ASSERT_TRUE(client_->SetImpairment(vm2, ctl::Direction::kEgress, {}).ok());
  auto lost_before = client_->ReadCounters(vm2);
  ASSERT_TRUE(lost_before.ok());
  PingResult again = Ping(*vms_[0], "10.0.0.2", "-c 10 -i 0.1 -W 2");
  EXPECT_EQ(again.received, 10);
  auto lost_after = client_->ReadCounters(vm2);
  ASSERT_TRUE(lost_after.ok());
  EXPECT_EQ(lost_after->drops[ctl::kDropImpairLoss], lost_before->drops[ctl::kDropImpairLoss]);
}

TEST_F(UmlSwitchcoreTest, SwitchcoreKilledComesBackAndPingResumes) {
  ASSERT_EQ(Ping(*vms_[0], "10.0.0.2", "-c 1 -W 2").received, 1);
  pid_t vm1 = vms_[0]->pid(), vm2 = vms_[1]->pid();
  pid_t old = client_->pid();
  int restarts = client_->restarts();
  ASSERT_EQ(kill(old, SIGKILL), 0);
  // Replies resume once the supervisor restarted the switch, with nothing done to the VMs: ping
  // from vm1 until one is answered (how soon is for the benchmarks; the deadline bounds the wait).
  bool answered = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!answered && absl::Now() < deadline) {
    answered = Ping(*vms_[0], "10.0.0.2", "-c 1 -W 1").received == 1;
  }
  ASSERT_TRUE(answered) << "no ping answered within 60 s of the switch's SIGKILL";
  EXPECT_EQ(client_->restarts(), restarts + 1);
  EXPECT_NE(client_->pid(), old);
  // From then on everything flows, both ways.
  EXPECT_EQ(Ping(*vms_[0], "10.0.0.2", "-c 5 -i 0.2 -W 2").received, 5);
  EXPECT_EQ(Ping(*vms_[1], "10.0.0.1", "-c 3 -W 2").received, 3);
  // The VMs were not touched: same processes.
  EXPECT_EQ(kill(vm1, 0), 0);
  EXPECT_EQ(kill(vm2, 0), 0);
  EXPECT_EQ(vms_[0]->pid(), vm1);
  // And isolation still holds after the restore.
  EXPECT_EQ(Ping(*vms_[2], "10.0.0.1", "-c 2 -W 1").received, 0);
}

}  // namespace
}  // namespace clownix::switchcore
