// Real UML VMs: boot to agent-ready, Exec, console, kill -9, halt, reboot, NIC hot-plug with a
// ping and ssh (dropbear, configured key) over uml_switch, root_fs mode, the XSTATE shim, and
// bad input. Each test cleans up its VMs by pid.
#include "vmm/vm_manager.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/file_io.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"
#include "vmm/agent_protocol.h"
#include "vmm/testing/uml_test_env.h"

namespace clownix::vmm {
namespace {

using ::clownix::vmm::testing::DefaultOptions;
using ::clownix::vmm::testing::GroupGone;
using ::clownix::vmm::testing::HostProcess;
using ::clownix::vmm::testing::ShortTempDir;

constexpr absl::Duration kBoot = absl::Seconds(60);

class VmManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A key pair for ssh into the guests (dropbear format; the public half goes to the config
    // disk as authorized_keys).
    key_path_ = dir_.path() + "/id";
    common::SpawnOptions keygen;
    keygen.argv = {"dropbearkey", "-t", "ed25519", "-f", key_path_};
    absl::StatusOr<common::RunResult> made = common::Run(keygen);
    ASSERT_TRUE(made.ok() && made->succeeded()) << made.status();
    std::string public_key;
    for (absl::string_view line : absl::StrSplit(made->output, '\n')) {
      if (absl::StartsWith(line, "ssh-ed25519 ")) public_key = absl::StrCat(line, "\n");
    }
    ASSERT_FALSE(public_key.empty()) << made->output;
    VmManagerOptions options = DefaultOptions(dir_.path() + "/w");
    options.rsa_public_key = public_key;
    options.on_state_change = [this](const VmEvent& e) {
      absl::MutexLock lock(&events_mu_);
      events_.push_back(e);
    };
    auto m = VmManager::Create(options);
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = std::move(*m);
  }
  void TearDown() override {
    if (manager_) {
      for (const VmInfo& vm : manager_->List()) manager_->Kill(vm.spec.name).IgnoreError();
    }
  }
  void StartAndWait(const VmSpec& spec) {
    ASSERT_TRUE(manager_->Start(spec).ok());
    absl::Status s = manager_->WaitForState(spec.name, VmState::kRunning, kBoot);
    ASSERT_TRUE(s.ok()) << s;
  }
  std::string Run(const std::string& vm, const std::string& command) {
    absl::StatusOr<ExecResult> r = manager_->Exec(vm, command, absl::Seconds(20));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return "";
    EXPECT_EQ(r->exit_code, 0) << command << ": " << r->output;
    return r->output;
  }

  ShortTempDir dir_;
  std::string key_path_;
  absl::Mutex events_mu_;
  std::vector<VmEvent> events_ ABSL_GUARDED_BY(events_mu_);
  std::unique_ptr<VmManager> manager_;
};

// The tests that make sense for every image run on each: the Bazel-built `tiny` and the `debian`
// image that the setup builds outside the repository (images/debian, docs/images.md).
class VmManagerImageTest : public VmManagerTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    if (std::string(GetParam()) == "debian") {
      struct stat st;
      ASSERT_EQ(stat(kDebianImage, &st), 0)
          << kDebianImage << " is missing: the setup builds it (bash tools/setup.sh)";
    }
    VmManagerTest::SetUp();
  }
  // A VM of the image under test, with the memory it needs.
  VmSpec Spec(const std::string& name, int number, std::vector<NicSpec> nics = {}) const {
    const bool debian = std::string(GetParam()) == "debian";
    return {name, number, debian ? 96 : 64, std::move(nics), debian ? kDebianImage : ""};
  }

  static constexpr const char* kDebianImage = "/var/cache/clownix/images/debian/rootfs.img";
};

INSTANTIATE_TEST_SUITE_P(Images, VmManagerImageTest, ::testing::Values("tiny", "debian"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

TEST_P(VmManagerImageTest, BootsExecsAndHalts) {
  StartAndWait(Spec("vm1", 7));
  absl::StatusOr<VmInfo> info = manager_->Get("vm1");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->admin_ip, "10.0.0.7");
  const pid_t pid = info->pid;

  absl::StatusOr<ExecResult> r = manager_->Exec("vm1", "echo hello; echo err >&2; exit 3");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->output, "hello\nerr\n");

  // mconsole answers, and agrees with the guest.
  absl::StatusOr<std::string> version = manager_->KernelVersion("vm1");
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_TRUE(absl::StrContains(*version, Run("vm1", "uname -r | tr -d '\\n'"))) << *version;
  EXPECT_EQ(manager_->KernelVersion("nope").status().code(), absl::StatusCode::kNotFound);

  // The config disk reached the guest: name and admin IP.
  EXPECT_EQ(Run("vm1", "hostname"), "vm1\n");
  // argv form: every word arrives intact.
  absl::StatusOr<ExecResult> argv_run =
      manager_->ExecArgv("vm1", {"printf", "[%s]", "a b", "it's", "$(reboot)", "*"});
  ASSERT_TRUE(argv_run.ok()) << argv_run.status();
  EXPECT_EQ(argv_run->output, "[a b][it's][$(reboot)][*]");
  // Quoting survives the trip.
  EXPECT_EQ(Run("vm1", "printf '%s|' \"a b\" '$HOME' \"it's\""), "a b|$HOME|it's|");

  // Output cap.
  r = manager_->Exec("vm1", "head -c 5000 /dev/zero | tr '\\0' x", absl::Seconds(10), 100);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, std::string(100, 'x'));
  EXPECT_EQ(r->total_output_bytes, 5000u);
  EXPECT_TRUE(r->truncated());

  // Timeout: DEADLINE_EXCEEDED from the guest (the message says it killed the command), and the
  // command (with its children) is gone in the guest.
  r = manager_->Exec("vm1", "sleep 345 & sleep 346", absl::Seconds(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "was killed")) << r.status();
  // Every process's command line (busybox has no pgrep; Debian's ps lists other sessions only
  // with options busybox lacks). A process may end between the glob and the read (the killed
  // ones are reaped by init meanwhile): its file is then missing, and says nothing.
  EXPECT_EQ(Run("vm1",
                "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' 2>/dev/null <$f; echo; done | "
                "grep -c '^sleep 34[56]' || true"),
            "0\n");

  // Concurrent Execs do not mix their answers.
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto res = manager_->Exec(
          "vm1", absl::StrCat("sleep 0.", 8 - i, "; seq ", i * 100, " ", i * 100 + 50),
          absl::Seconds(20));
      std::string want;
      for (int k = i * 100; k <= i * 100 + 50; ++k) absl::StrAppend(&want, k, "\n");
      if (res.ok() && res->exit_code == 0 && res->output == want) ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 8);

  // Long commands at once: more than the guest's tty holds (3968 bytes unread stop UML's line for
  // good: agent_protocol.h, flow control). All are answered, and so is the next one.
  threads.clear();
  good = 0;
  const std::string padding(AgentProtocol::kMaxCommandBytes - 40, '#');
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto res =
          manager_->Exec("vm1", absl::StrCat("echo long-", i, "\n", padding), absl::Seconds(60));
      if (res.ok() && res->output == absl::StrCat("long-", i, "\n")) ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 6);
  EXPECT_EQ(Run("vm1", "echo after"), "after\n");
  // One longer than the protocol allows is refused, not sent.
  EXPECT_EQ(
      manager_->Exec("vm1", std::string(AgentProtocol::kMaxCommandBytes + 1, ':')).status().code(),
      absl::StatusCode::kInvalidArgument);

  // Console: several readers, input writable.
  absl::Mutex mu;
  std::string seen1, seen2;
  auto s1 = manager_->SubscribeConsole("vm1", [&](absl::string_view b) {
    absl::MutexLock l(&mu);
    seen1.append(b.data(), b.size());
  });
  auto s2 = manager_->SubscribeConsole("vm1", [&](absl::string_view b) {
    absl::MutexLock l(&mu);
    seen2.append(b.data(), b.size());
  });
  ASSERT_TRUE(s1.ok() && s2.ok());
  ASSERT_TRUE(manager_->WriteConsole("vm1", "echo con-$((6*7))\n").ok());
  {
    absl::MutexLock l(&mu);
    auto both = [&] {
      return absl::StrContains(seen1, "con-42") && absl::StrContains(seen2, "con-42");
    };
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&both), absl::Seconds(10)));
  }
  // A paste of 10 KiB typed while the shell runs a command (nothing in the guest reads the
  // console's tty meanwhile), then one more line once the paste has run. Without flow control
  // the guest's tty throttled the line at 3968 unread bytes and it never came back
  // (docs/uml-facts.md #22): the paste ran, the next line never arrived. The console relay
  // acknowledges what it reads and the host keeps within ConsoleLine::kUnreadBudget.
  std::string paste = "sleep 2\n";
  for (int i = 0; paste.size() < 10 * 1024; ++i) {
    absl::StrAppend(&paste, ": pasted line ", i, " ", std::string(60, 'p'), "\n");
  }
  ASSERT_TRUE(manager_->WriteConsole("vm1", paste + "echo paste-$((6*7))\n").ok());
  auto console_shows = [&](absl::string_view text) {
    absl::MutexLock l(&mu);
    auto shown = [&] { return absl::StrContains(seen1, text); };
    return mu.AwaitWithTimeout(absl::Condition(&shown), absl::Seconds(30));
  };
  ASSERT_TRUE(console_shows("paste-42"));
  ASSERT_TRUE(manager_->WriteConsole("vm1", "echo after-$((6*7))\n").ok());
  EXPECT_TRUE(console_shows("after-42"));
  {
    absl::MutexLock l(&mu);
    EXPECT_FALSE(absl::StrContains(seen1, "clownix-console"));  // The relay's marks never show.
  }
  manager_->UnsubscribeConsole(*s1);
  manager_->UnsubscribeConsole(*s2);

  ASSERT_TRUE(manager_->Halt("vm1", absl::Seconds(10)).ok());
  absl::StatusOr<VmEvent> last = manager_->LastExit("vm1");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->state, VmState::kStopped) << last->reason;
  EXPECT_TRUE(GroupGone(pid));
  struct stat st;
  EXPECT_NE(stat((dir_.path() + "/w/vms/vm1/cow").c_str(), &st), 0);
  EXPECT_NE(stat((dir_.path() + "/w/uml/vm1").c_str(), &st), 0);
  EXPECT_EQ(stat((dir_.path() + "/w/vms/vm1/console.log").c_str(), &st), 0);
  EXPECT_EQ(manager_->Exec("vm1", "true").status().code(), absl::StatusCode::kNotFound);

  // The callback saw BOOTING, RUNNING, STOPPED, in that order. (It runs on the manager's
  // thread, so the last one may arrive just after Halt returned.) Besides, at most one startup
  // report (a RUNNING event with `startup`): none when the halt came first.
  auto states = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(events_mu_) {
    std::vector<VmState> out;
    for (const VmEvent& e : events_) {
      if (e.name == "vm1" && !e.startup) out.push_back(e.state);
    }
    return out;
  };
  absl::MutexLock lock(&events_mu_);
  auto three = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(events_mu_) { return states().size() >= 3; };
  events_mu_.AwaitWithTimeout(absl::Condition(&three), absl::Seconds(5));
  EXPECT_EQ(states(),
            (std::vector<VmState>{VmState::kBooting, VmState::kRunning, VmState::kStopped}));
  int reports = 0;
  for (const VmEvent& e : events_) {
    if (e.name != "vm1" || !e.startup) continue;
    ++reports;
    EXPECT_EQ(e.state, VmState::kRunning);
    EXPECT_TRUE(e.startup->ok) << e.startup->output;  // nothing to set up, no script
  }
  EXPECT_LE(reports, 1);
}

TEST_P(VmManagerImageTest, KillNineIsReportedAndCleaned) {
  StartAndWait(Spec("k1", 2));
  const pid_t pid = manager_->Get("k1")->pid;
  // Start guest processes so there are more host processes in the group.
  Run("k1", "sleep 1000 >/dev/null 2>&1 & sleep 1001 >/dev/null 2>&1 & true");
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(manager_->WaitForState("k1", VmState::kCrashed, absl::Seconds(30)).ok());
  absl::StatusOr<VmEvent> last = manager_->LastExit("k1");
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(absl::StrContains(last->reason, "signal 9")) << last->reason;
  EXPECT_TRUE(GroupGone(pid));  // Helpers and guest-process hosts too.
  // Not a zombie either: the pid is reaped.
  EXPECT_NE(access(absl::StrCat("/proc/", pid).c_str(), F_OK), 0);
  // The name is free again, and umid reuse does not bite: a new VM of that name boots.
  StartAndWait(Spec("k1", 2));
  EXPECT_TRUE(manager_->Kill("k1").ok());
}

TEST_P(VmManagerImageTest, GuestKernelPanicIsACrash) {
  StartAndWait(Spec("c1", 4));
  const pid_t pid = manager_->Get("c1")->pid;
  // The agent dies with the guest: the Exec fails, it does not hang.
  EXPECT_FALSE(manager_->Exec("c1", "echo c >/proc/sysrq-trigger", absl::Seconds(5)).ok());
  ASSERT_TRUE(manager_->WaitForState("c1", VmState::kCrashed, absl::Seconds(10)).ok());
  absl::StatusOr<VmEvent> last = manager_->LastExit("c1");
  ASSERT_TRUE(last.ok());
  // UML's panic notification names the cause; the exit (SIGABRT) follows.
  EXPECT_TRUE(absl::StrContains(last->reason, "kernel panic: sysrq triggered crash"))
      << last->reason;
  EXPECT_TRUE(GroupGone(pid));
}

TEST_P(VmManagerImageTest, RebootsInPlace) {
  StartAndWait(Spec("r1", 3));
  const pid_t pid = manager_->Get("r1")->pid;
  // /run is a tmpfs, gone with the reboot; /root is on the disk: written just before the reboot
  // (no sync), it stays.
  Run("r1", "echo here >/run/marker; echo kept >/root/kept");
  ASSERT_TRUE(manager_->Reboot("r1").ok());
  EXPECT_EQ(manager_->Get("r1")->state, VmState::kBooting);
  absl::Status rebooted = manager_->WaitForState("r1", VmState::kRunning, kBoot);
  if (!rebooted.ok()) {
    // What became of it: how it ended, and what its kernel said.
    absl::StatusOr<VmEvent> ended = manager_->LastExit("r1");
    std::ifstream console(dir_.path() + "/w/vms/r1/console.log");
    std::string text((std::istreambuf_iterator<char>(console)), std::istreambuf_iterator<char>());
    FAIL() << rebooted << "; ended: " << (ended.ok() ? ended->reason : ended.status().ToString())
           << "; the end of its console.log:\n"
           << text.substr(text.size() > 3000 ? text.size() - 3000 : 0);
  }
  EXPECT_EQ(manager_->Get("r1")->pid, pid);
  EXPECT_EQ(Run("r1", "cat /run/marker 2>/dev/null; echo done"), "done\n");
  EXPECT_EQ(Run("r1", "cat /root/kept"), "kept\n");

  // A reboot from inside the guest is noticed too (UML announces its mconsole again).
  Run("r1", "echo here >/run/marker; (sleep 1; reboot -f) >/dev/null 2>&1 &");
  ASSERT_TRUE(manager_->WaitForState("r1", VmState::kBooting, absl::Seconds(20)).ok());
  ASSERT_TRUE(manager_->WaitForState("r1", VmState::kRunning, kBoot).ok());
  EXPECT_EQ(manager_->Get("r1")->pid, pid);
  EXPECT_EQ(Run("r1", "cat /run/marker 2>/dev/null; echo done"), "done\n");
  EXPECT_TRUE(manager_->Kill("r1").ok());
}

// The startup report of `vm`'s latest boot, once it came (an event with `startup` set).
std::optional<StartupResult> WaitForStartup(absl::Mutex* mu, const std::vector<VmEvent>* events,
                                            const std::string& vm, size_t nth,
                                            absl::Duration timeout) {
  absl::MutexLock lock(mu);
  auto count = [&]() {
    size_t n = 0;
    for (const VmEvent& e : *events) n += (e.name == vm && e.startup) ? 1 : 0;
    return n;
  };
  auto enough = [&]() { return count() >= nth; };
  if (!mu->AwaitWithTimeout(absl::Condition(&enough), timeout)) return std::nullopt;
  std::optional<StartupResult> last;
  for (const VmEvent& e : *events) {
    if (e.name == vm && e.startup) last = e.startup;
  }
  return last;
}

TEST_P(VmManagerImageTest, AppliesTheGuestConfigAndReportsTheStartupAtEveryBoot) {
  const std::string ctl = dir_.path() + "/lan.ctl";
  HostProcess uml_switch({"uml_switch", "-unix", ctl});
  ASSERT_TRUE(uml_switch.status().ok()) << uml_switch.status();
  ASSERT_TRUE(::clownix::vmm::testing::WaitForPath(ctl, absl::Seconds(10)));
  VmSpec spec = Spec("g1", 21, {{1, ctl}});
  spec.guest.files = {{"/etc/clownix-test/hello", "hello from the config disk\n", 0600},
                      {"/usr/local/bin/greet", "#!/bin/sh\necho greeting $1\n", 0755}};
  spec.guest.sysctls = {{"net.ipv4.ip_forward", "1"}};
  spec.guest.addresses = {{1, "10.9.0.1/24"}, {2, "10.9.9.1/24"}};  // eth2 is not plugged
  spec.guest.startup = "greet $(hostname)\ncat /etc/clownix-test/hello\nexit 0\n";
  spec.guest.shutdown = "echo shutdown script of $(hostname) >/dev/console\n";
  StartAndWait(spec);
  std::optional<StartupResult> first = WaitForStartup(&events_mu_, &events_, "g1", 1, kBoot);
  ASSERT_TRUE(first.has_value()) << "no startup report";
  EXPECT_TRUE(first->ok) << first->output;
  EXPECT_EQ(first->exit_code, 0);
  EXPECT_EQ(first->output, "greeting g1\nhello from the config disk\n");
  EXPECT_EQ(Run("g1", "stat -c %a /etc/clownix-test/hello"), "600\n");
  EXPECT_EQ(Run("g1", "cat /proc/sys/net/ipv4/ip_forward"), "1\n");
  EXPECT_TRUE(absl::StrContains(Run("g1", "ip -4 addr show eth1"), "inet 10.9.0.1/24"));
  EXPECT_TRUE(absl::StrContains(Run("g1", "ip link show eth1"), ",UP"));  // <BROADCAST,...,UP

  // Every boot runs it again; the report is of that boot.
  Run("g1", "rm /etc/clownix-test/hello");
  ASSERT_TRUE(manager_->Reboot("g1").ok());
  std::optional<StartupResult> second = WaitForStartup(&events_mu_, &events_, "g1", 2, kBoot);
  ASSERT_TRUE(second.has_value()) << "no startup report after the reboot";
  EXPECT_EQ(second->output, "greeting g1\nhello from the config disk\n");

  // A halt runs the shutdown script before the guest powers off (its console says so).
  const std::string console_log = manager_->Get("g1")->console_log;
  ASSERT_TRUE(manager_->Halt("g1").ok());
  absl::StatusOr<std::string> console = common::ReadFile(console_log, 1 << 20);
  ASSERT_TRUE(console.ok()) << console.status();
  EXPECT_TRUE(absl::StrContains(*console, "shutdown script of g1")) << *console;

  // A failing setup and script: both are in the report, and the VM runs all the same.
  VmSpec bad = Spec("g2", 22);
  bad.guest.sysctls = {{"net.ipv4.no_such_knob", "1"}};
  bad.guest.startup = "echo before; false; exit 3\n";
  StartAndWait(bad);
  std::optional<StartupResult> failed = WaitForStartup(&events_mu_, &events_, "g2", 1, kBoot);
  ASSERT_TRUE(failed.has_value());
  EXPECT_FALSE(failed->ok);
  EXPECT_EQ(failed->exit_code, 3);
  EXPECT_TRUE(absl::StrContains(failed->output, "clownix setup: sysctl net.ipv4.no_such_knob"))
      << failed->output;
  EXPECT_TRUE(absl::StrContains(failed->output, "before\n")) << failed->output;
  EXPECT_EQ(manager_->Get("g2")->state, VmState::kRunning);
}

TEST_P(VmManagerImageTest, HotPlugsANicThenPingsAndSshsOverIt) {
  const std::string ctl = dir_.path() + "/lan.ctl";
  HostProcess uml_switch({"uml_switch", "-unix", ctl});
  ASSERT_TRUE(uml_switch.status().ok()) << uml_switch.status();
  ASSERT_TRUE(::clownix::vmm::testing::WaitForPath(ctl, absl::Seconds(10)));
  // h2 boots with its admin interface on the LAN: config_cmd gives it the seed's admin IP.
  StartAndWait(Spec("h2", 12, {{0, ctl}}));
  EXPECT_TRUE(absl::StrContains(Run("h2", "ip -4 addr show eth0"), "inet 10.0.0.12/16"));
  EXPECT_EQ(Run("h2", "cat /sys/class/net/eth0/address"), "02:00:00:12:00:00\n");
  // h1 boots without NICs and gets eth1 plugged in while running.
  StartAndWait(Spec("h1", 11));
  // With its address: set once the NIC exists, before AttachNic returns.
  absl::Status s = manager_->AttachNic("h1", {1, ctl}, {"10.0.0.11/16"});
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(manager_->AttachNic("h1", {1, ctl}).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Run("h1", "cat /sys/class/net/eth1/address"), "02:00:00:11:00:01\n");
  EXPECT_TRUE(absl::StrContains(Run("h1", "ip -4 addr show eth1"), "inet 10.0.0.11/16"));
  absl::StatusOr<ExecResult> ping =
      manager_->Exec("h1", "ping -c 2 -W 3 10.0.0.12", absl::Seconds(20));
  ASSERT_TRUE(ping.ok()) << ping.status();
  EXPECT_EQ(ping->exit_code, 0) << ping->output;

  // ssh over the new link with the configured key (dropbear in the guest).
  std::ifstream key_file(key_path_, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(key_file)), std::istreambuf_iterator<char>());
  Run("h1", absl::StrCat("echo ", absl::Base64Escape(key),
                         " | base64 -d >/root/id && chmod 600 /root/id"));
  absl::StatusOr<ExecResult> ssh = manager_->Exec(
      "h1", "dbclient -y -i /root/id root@10.0.0.12 'hostname; exit 7' 2>&1", absl::Seconds(30));
  ASSERT_TRUE(ssh.ok()) << ssh.status();
  EXPECT_EQ(ssh->exit_code, 7) << ssh->output;
  EXPECT_TRUE(absl::StrContains(ssh->output, "h2\n")) << ssh->output;

  // No socket at the control path: refused before UML is asked.
  EXPECT_EQ(manager_->AttachNic("h1", {2, dir_.path() + "/nobody.ctl"}).code(),
            absl::StatusCode::kFailedPrecondition);
  // A stale socket nobody listens on: UML says OK but no interface appears.
  const std::string stale = dir_.path() + "/stale.ctl";
  {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, stale.c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    close(fd);
  }
  EXPECT_EQ(manager_->AttachNic("h1", {2, stale}).code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE(manager_->DetachNic("h1", 1).ok());
  EXPECT_EQ(Run("h1", "test -e /sys/class/net/eth1; echo $?"), "1\n");
  EXPECT_EQ(manager_->DetachNic("h1", 1).code(), absl::StatusCode::kNotFound);
  // No way there any more (busybox's ping says so with 1, Debian's with 2).
  EXPECT_NE(manager_->Exec("h1", "ping -c 1 -W 1 10.0.0.12", absl::Seconds(10))->exit_code, 0);
}

TEST_F(VmManagerTest, BadInputIsRefusedAndLeavesNothing) {
  namespace fs = std::filesystem;
  const std::string vms = dir_.path() + "/w/vms";
  struct Case {
    VmSpec spec;
    absl::StatusCode code;
  } cases[] = {
      {{"m", 1, 32, {}}, absl::StatusCode::kInvalidArgument},
      {{"m", 1, 100000, {}}, absl::StatusCode::kInvalidArgument},
      {{"bad name", 1, 64, {}}, absl::StatusCode::kInvalidArgument},
      {{"m", 0, 64, {}}, absl::StatusCode::kInvalidArgument},
      {{"m", 1, 64, {{8, "/tmp/x"}}}, absl::StatusCode::kInvalidArgument},
      {{"m", 1, 64, {{0, "/tmp/a"}, {0, "/tmp/b"}}}, absl::StatusCode::kInvalidArgument},
      {{"m", 1, 64, {{0, "/tmp/a,b"}}}, absl::StatusCode::kInvalidArgument},
      {{"m", 1, 64, std::vector<NicSpec>(9, NicSpec{0, "/tmp/a"})},
       absl::StatusCode::kInvalidArgument},
      {{"m", 1, 64, {}, "/nonexistent/image.img"}, absl::StatusCode::kNotFound},
      {{"m", 1, 64, {}, "/tmp"}, absl::StatusCode::kNotFound},
      {{"m", 1, 64, {}, "vmm/rootfs/rootfs.img"}, absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(manager_->Start(c.spec).code(), c.code) << c.spec.name << " " << c.spec.mem_mib;
    EXPECT_TRUE(fs::is_empty(vms)) << c.spec.name;
    EXPECT_TRUE(manager_->List().empty());
  }

  // A NIC on a LAN whose switch is not there.
  EXPECT_EQ(manager_->Start({"m", 1, 64, {{0, dir_.path() + "/no-switch.ctl"}}}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(fs::is_empty(vms));

  StartAndWait({"d1", 5, 64, {}});
  EXPECT_EQ(manager_->Start({"d1", 6, 64, {}}).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(manager_->Start({"d2", 5, 64, {}}).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(fs::exists(vms + "/d2"));
  EXPECT_EQ(manager_->Exec("nope", "true").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(manager_->Exec("d1", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_->Halt("nope").code(), absl::StatusCode::kNotFound);

  // A second manager cannot take the same work dir.
  EXPECT_EQ(VmManager::Create(DefaultOptions(dir_.path() + "/w")).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // Options.
  auto o = DefaultOptions(dir_.path() + "/w2");
  o.kernel = "/nonexistent/linux";
  EXPECT_EQ(VmManager::Create(o).status().code(), absl::StatusCode::kNotFound);
  o = DefaultOptions(dir_.path() + "/w2");
  o.root_fs = "/nonexistent/rootfs.img";
  EXPECT_EQ(VmManager::Create(o).status().code(), absl::StatusCode::kNotFound);
  o = DefaultOptions("/proc/clownix-work");
  EXPECT_EQ(VmManager::Create(o).status().code(), absl::StatusCode::kPermissionDenied);
  o = DefaultOptions(dir_.path() + "/w2");
  o.admin_prefix = "10.0.0";
  EXPECT_EQ(VmManager::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = DefaultOptions(dir_.path() + "/w2");
  o.rsa_public_key = "$(reboot)";
  EXPECT_EQ(VmManager::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(VmManagerXstateTest, BootsWithTheShimPreloaded) {
  ShortTempDir dir;
  auto o = DefaultOptions(dir.path() + "/w");
  o.xstate_fix = XstateFix::kAlways;
  auto m = VmManager::Create(o);
  ASSERT_TRUE(m.ok()) << m.status();
  VmManager& manager = **m;
  EXPECT_TRUE(manager.uses_xstate_fix());
  ASSERT_TRUE(manager.Start({"x1", 1, 64, {}}).ok());
  ASSERT_TRUE(manager.WaitForState("x1", VmState::kRunning, kBoot).ok());
  const pid_t pid = manager.Get("x1")->pid;
  std::ifstream maps(absl::StrCat("/proc/", pid, "/maps"));
  std::string all((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::StrContains(all, "libuml_xstate_fix.so"));
  // Guest processes use the FPU/SSE registers that go through the shim on every switch.
  auto r = manager.Exec("x1", "for i in 1 2 3; do echo $((i * 7)); done; awk 'BEGIN{print 1.5*3}'");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "7\n14\n21\n4.5\n");
  EXPECT_TRUE(manager.Kill("x1").ok());
}

TEST_F(VmManagerTest, EachVmBootsItsOwnImage) {
  namespace fs = std::filesystem;
  // Another image: the default one with a file that tells it apart, somewhere the VM users
  // cannot read (under the test's own directory, mode 0600), so that it must be staged for them.
  const std::string image = dir_.path() + "/private/other.img";
  fs::create_directories(dir_.path() + "/private");
  fs::permissions(dir_.path() + "/private", fs::perms::owner_all);
  fs::copy_file("vmm/rootfs/rootfs.img", image);
  fs::permissions(image, fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(common::WriteFileDurably(dir_.path() + "/marker", "the other image\n").ok());
  common::SpawnOptions write;
  write.argv = {"debugfs", "-w", "-R", "write " + dir_.path() + "/marker /etc/clownix-image",
                image};
  absl::StatusOr<common::RunResult> written = common::Run(write);
  ASSERT_TRUE(written.ok() && written->succeeded()) << written.status();

  StartAndWait({"i1", 1, 64, {}});
  StartAndWait({"i2", 2, 64, {}, dir_.path() + "/private/../private/other.img"});
  EXPECT_EQ(Run("i2", "cat /etc/clownix-image"), "the other image\n");
  EXPECT_EQ(Run("i1", "cat /etc/clownix-image 2>/dev/null || echo none"), "none\n");
  // The image is recorded (normalized) for a later clownixd, and stays as it was: each VM
  // writes into its copy-on-write file.
  EXPECT_EQ(manager_->Get("i2")->spec.root_fs, image);
  EXPECT_TRUE(manager_->Get("i1")->spec.root_fs.empty());
  std::ifstream spec(dir_.path() + "/w/vms/i2/spec");
  std::stringstream text;
  text << spec.rdbuf();
  EXPECT_TRUE(absl::StrContains(text.str(), "\nrootfs=" + image + "\n")) << text.str();
  Run("i2", "echo changed >/etc/clownix-image; sync");
  ASSERT_TRUE(manager_->Halt("i2").ok());
  StartAndWait({"i3", 3, 64, {}, image});
  EXPECT_EQ(Run("i3", "cat /etc/clownix-image"), "the other image\n");
}

TEST(VmManagerRootFsTest, PersistentRootFsKeepsAFileAcrossBoots) {
  namespace fs = std::filesystem;
  ShortTempDir dir;
  const std::string image = dir.path() + "/root_fs.img";
  fs::copy_file("vmm/rootfs/rootfs.img", image);
  fs::permissions(image, fs::perms::owner_read | fs::perms::owner_write);
  auto o = DefaultOptions(dir.path() + "/w");
  o.root_fs = image;
  o.root_fs_mode = true;
  auto m = VmManager::Create(o);
  ASSERT_TRUE(m.ok()) << m.status();
  VmManager& manager = **m;
  for (int boot = 0; boot < 2; ++boot) {
    ASSERT_TRUE(manager.Start({"p1", 1, 64, {}}).ok());
    ASSERT_TRUE(manager.WaitForState("p1", VmState::kRunning, kBoot).ok());
    EXPECT_EQ(manager.Start({"p2", 2, 64, {}}).code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_FALSE(fs::exists(dir.path() + "/w/vms/p1/cow"));
    // No sync: Halt's clean power-off must flush it.
    auto r = manager.Exec(
        "p1", boot == 0 ? "echo kept >/root/persist; cat /root/persist" : "cat /root/persist");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->output, "kept\n");
    ASSERT_TRUE(manager.Halt("p1", absl::Seconds(10)).ok());
  }
  // The one root_fs, not another image.
  EXPECT_EQ(manager.Start({"p3", 3, 64, {}, fs::absolute("vmm/rootfs/rootfs.img")}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(manager.List().empty());
}

}  // namespace
}  // namespace clownix::vmm
