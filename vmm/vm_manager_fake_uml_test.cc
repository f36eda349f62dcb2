// VmManager's logic without UML: a FakeUmlLauncher starts a stand-in process per VM and the test
// plays the guest (agent line, console, mconsole notifications). Lifecycle, exit classification,
// Exec reply matching, reboots, the spec file and adoption run in well under a second each; what
// needs a real kernel (mconsole commands, NIC hot-plug, the guest's own agent) is in
// vm_manager_test.cc.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/file_io.h"
#include "common/subprocess.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"
#include "vmm/agent_channel.h"
#include "vmm/config_disk.h"
#include "vmm/console_line.h"
#include "vmm/spec_file.h"
#include "vmm/testing/fake_uml_launcher.h"
#include "vmm/testing/line_peer.h"
#include "vmm/testing/uml_test_env.h"
#include "vmm/vm_manager.h"

namespace clownix::vmm {
namespace {

using ::clownix::vmm::testing::FakeGuest;
using ::clownix::vmm::testing::FakeUmlLauncher;
using ::clownix::vmm::testing::GroupGone;
using ::clownix::vmm::testing::LinePeer;
using ::clownix::vmm::testing::ShortTempDir;

constexpr absl::Duration kWait = absl::Seconds(30);

class VmManagerFakeUmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = dir_.path() + "/w";
    root_fs_ = dir_.path() + "/rootfs.img";
    ASSERT_TRUE(common::WriteFileDurably(root_fs_, "not an image: nobody boots it").ok());
    ASSERT_TRUE(Recreate().ok());
  }
  void TearDown() override {
    if (manager_) {
      for (const VmInfo& vm : manager_->List()) manager_->Kill(vm.spec.name).IgnoreError();
    }
    manager_.reset();
    for (pid_t pid : pids_) kill(-pid, SIGKILL);  // VMs left running by a test that adopts.
  }

  VmManagerOptions Options() {
    VmManagerOptions o;
    o.work_dir = work_;
    o.kernel = "/bin/true";  // Must exist and be executable; the fake starts /bin/sh instead.
    o.root_fs = root_fs_;
    o.xstate_fix = XstateFix::kNever;
    o.launcher = launcher_;
    o.on_state_change = [this](const VmEvent& e) {
      absl::MutexLock lock(&mu_);
      events_.push_back(e);
    };
    return o;
  }
  // A new manager over the same work dir (the old one goes first; its VMs keep running).
  absl::Status Recreate() {
    manager_.reset();
    absl::StatusOr<std::unique_ptr<VmManager>> m = VmManager::Create(Options());
    if (!m.ok()) return m.status();
    manager_ = std::move(*m);
    return absl::OkStatus();
  }

  // Starts `name` and plays its agent's first answer (a ready line, then the pong to the ping).
  std::shared_ptr<FakeGuest> StartRunning(const VmSpec& spec) {
    absl::Status started = manager_->Start(spec);
    EXPECT_TRUE(started.ok()) << started;
    std::shared_ptr<FakeGuest> guest = launcher_->Guest(spec.name);
    EXPECT_NE(guest, nullptr);
    if (!guest) return nullptr;
    pids_.push_back(guest->pid);
    AnswerPing(*guest, "A ready boot-1 1234\n");
    absl::Status running = manager_->WaitForState(spec.name, VmState::kRunning, kWait);
    EXPECT_TRUE(running.ok()) << running;
    return guest;
  }
  // Reads the next ping on the guest's agent line and answers it (after `before`).
  void AnswerPing(FakeGuest& guest, const std::string& before = "") {
    std::optional<std::string> ping = NextRequest(guest);
    ASSERT_TRUE(ping.has_value());
    ASSERT_TRUE(absl::StartsWith(*ping, "Q ping ")) << *ping;
    ASSERT_TRUE(Agent(guest).Write(absl::StrCat(before, "A pong ", ping->substr(7), "\n")));
  }
  // The guest's end of its agent line, one reader per guest: requests that arrive together are
  // not lost between two reads.
  LinePeer& Agent(FakeGuest& guest) {
    std::unique_ptr<LinePeer>& peer = agents_[&guest];
    if (!peer) peer = std::make_unique<LinePeer>(guest.agent.get());
    return *peer;
  }
  // The next request on the guest's agent line. The startup report the manager asks for once the
  // agent answers (config_disk.h) is answered on the way, as a guest with nothing to set up would.
  std::optional<std::string> NextRequest(FakeGuest& guest) {
    for (;;) {
      std::optional<std::string> line = Agent(guest).ReadLine();
      if (!line) return line;
      std::vector<std::string> f = absl::StrSplit(*line, ' ');
      std::string command;
      if (f.size() == 6 && f[1] == "exec" && absl::Base64Unescape(f[5], &command) &&
          absl::StrContains(command, "/run/clownix-config/startup_run")) {
        ReplyExec(guest, f[2], 0, "clownix-startup 0 ok\n");
        continue;
      }
      return line;
    }
  }
  // Reads the next exec request on the guest's agent line: {id, command}.
  std::pair<std::string, std::string> ReadExec(FakeGuest& guest) {
    std::optional<std::string> line = NextRequest(guest);
    EXPECT_TRUE(line.has_value());
    if (!line) return {};
    std::vector<std::string> f = absl::StrSplit(*line, ' ');
    EXPECT_EQ(f.size(), 6u) << *line;
    if (f.size() != 6) return {};
    std::string command;
    EXPECT_TRUE(absl::Base64Unescape(f[5], &command));
    return {f[2], command};
  }
  static void ReplyExec(FakeGuest& guest, const std::string& id, int rc, const std::string& out) {
    ASSERT_TRUE(LinePeer(guest.agent.get())  // writing needs no buffer
                    .Write(absl::StrCat("A exec ", id, " ", rc, " ", out.size(), " ",
                                        absl::Base64Escape(out), "\n")));
  }
  std::vector<VmState> StatesOf(const std::string& name, size_t at_least) {
    absl::MutexLock lock(&mu_);
    auto count = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      size_t n = 0;
      for (const VmEvent& e : events_) n += e.name == name && !e.startup;
      return n >= at_least;
    };
    mu_.AwaitWithTimeout(absl::Condition(&count), kWait);
    std::vector<VmState> states;
    for (const VmEvent& e : events_) {
      if (e.name == name && !e.startup) states.push_back(e.state);  // not the startup reports
    }
    return states;
  }

  ShortTempDir dir_;
  std::string work_;
  std::string root_fs_;
  std::shared_ptr<FakeUmlLauncher> launcher_ = std::make_shared<FakeUmlLauncher>();
  std::unique_ptr<VmManager> manager_;
  std::vector<pid_t> pids_;
  std::map<const FakeGuest*, std::unique_ptr<LinePeer>> agents_;
  absl::Mutex mu_;
  std::vector<VmEvent> events_ ABSL_GUARDED_BY(mu_);
};

TEST_F(VmManagerFakeUmlTest, BootsExecsAndKills) {
  std::shared_ptr<FakeGuest> guest = StartRunning({"vm1", 7, 64, {}});
  ASSERT_NE(guest, nullptr);
  absl::StatusOr<VmInfo> info = manager_->Get("vm1");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->pid, guest->pid);
  EXPECT_EQ(info->admin_ip, "10.0.0.7");
  // The agent's ready line taught the manager the guest's lpj (written before RUNNING).
  EXPECT_EQ(common::ReadFile(work_ + "/lpj").value_or(""), "1234\n");
  // The spec file is what a restarted clownixd will read.
  absl::StatusOr<SpecFile::Contents> spec = SpecFile::Read(work_ + "/vms/vm1/spec");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->spec.number, 7);

  // Two Execs in flight, answered in reverse order.
  absl::StatusOr<ExecResult> first, second;
  std::thread a([&] { first = manager_->Exec("vm1", "echo one"); });
  auto [id1, command1] = ReadExec(*guest);
  std::thread b([&] { second = manager_->Exec("vm1", "echo two"); });
  auto [id2, command2] = ReadExec(*guest);
  EXPECT_EQ(command1, "echo one");
  EXPECT_EQ(command2, "echo two");
  ReplyExec(*guest, id2, 2, "two\n");
  ReplyExec(*guest, id1, 0, "one\n");
  a.join();
  b.join();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->output, "one\n");
  EXPECT_EQ(second->exit_code, 2);
  EXPECT_EQ(second->output, "two\n");

  // The console: output reaches subscribers and console.log, keystrokes reach the line.
  absl::Mutex mu;
  std::string seen;
  absl::StatusOr<int64_t> sub = manager_->SubscribeConsole("vm1", [&](absl::string_view b) {
    absl::MutexLock lock(&mu);
    seen.append(b.data(), b.size());
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(LinePeer(guest->console.get()).Write("login: "));
  {
    absl::MutexLock lock(&mu);
    auto has = [&] { return absl::StrContains(seen, "login: "); };
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&has), kWait));
  }
  ASSERT_TRUE(manager_->WriteConsole("vm1", "root\n").ok());
  EXPECT_EQ(LinePeer(guest->console.get()).ReadLine(), "root");
  manager_->UnsubscribeConsole(*sub);

  ASSERT_TRUE(manager_->Kill("vm1").ok());
  absl::StatusOr<VmEvent> last = manager_->LastExit("vm1");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->state, VmState::kStopped);
  EXPECT_EQ(last->reason, "stopped by clownix; killed by signal 9 (Killed)");
  EXPECT_TRUE(GroupGone(guest->pid));  // sh's sleep too.
  EXPECT_FALSE(std::filesystem::exists(work_ + "/uml/vm1"));
  EXPECT_FALSE(std::filesystem::exists(work_ + "/vms/vm1/spec"));
  EXPECT_EQ(common::ReadFile(work_ + "/vms/vm1/console.log").value_or(""), "login: ");
  EXPECT_EQ(StatesOf("vm1", 3),
            (std::vector<VmState>{VmState::kBooting, VmState::kRunning, VmState::kStopped}));
}

TEST_F(VmManagerFakeUmlTest, DeathsAreClassified) {
  std::shared_ptr<FakeGuest> killed = StartRunning({"k1", 1, 64, {}});
  std::shared_ptr<FakeGuest> panicked = StartRunning({"p1", 2, 64, {}});
  ASSERT_TRUE(killed && panicked);
  // An Exec waiting when the VM dies fails at once; it does not wait for its deadline.
  absl::StatusOr<ExecResult> waiting;
  std::thread exec([&] { waiting = manager_->Exec("k1", "sleep 100", absl::Seconds(3600)); });
  ReadExec(*killed);
  ASSERT_EQ(kill(killed->pid, SIGKILL), 0);
  ASSERT_TRUE(manager_->WaitForState("k1", VmState::kCrashed, kWait).ok());
  exec.join();
  EXPECT_EQ(waiting.status().code(), absl::StatusCode::kUnavailable) << waiting.status();
  EXPECT_TRUE(absl::StrContains(waiting.status().message(), "killed by signal 9"))
      << waiting.status();
  EXPECT_EQ(manager_->LastExit("k1")->reason, "killed by signal 9 (Killed)");
  EXPECT_TRUE(GroupGone(killed->pid));

  // A panic notification names the cause of the crash that follows. The reboot announcement
  // after it (same socket, handled in order) shows when the manager has taken both.
  ASSERT_TRUE(panicked->Notify(mconsole_wire::kNotifyPanic, "Kernel panic - not syncing").ok());
  ASSERT_TRUE(panicked->Notify(mconsole_wire::kNotifySocket, "/w/uml/p1/mconsole").ok());
  ASSERT_TRUE(manager_->WaitForState("p1", VmState::kBooting, kWait).ok());
  ASSERT_EQ(kill(panicked->pid, SIGABRT), 0);
  ASSERT_TRUE(manager_->WaitForState("p1", VmState::kCrashed, kWait).ok());
  EXPECT_TRUE(absl::StartsWith(manager_->LastExit("p1")->reason,
                               "kernel panic: Kernel panic - not syncing; killed by signal 6"))
      << manager_->LastExit("p1")->reason;
}

// UML's lines hang up as its process ends, and the hang-up may be seen before the death: a call
// waiting on the agent fails with the death's reason, not "line closed".
TEST_F(VmManagerFakeUmlTest, AnAgentHangUpLeavesWaitingCallsToTheDeathsReason) {
  std::shared_ptr<FakeGuest> guest = StartRunning({"g1", 8, 64, {}});
  ASSERT_NE(guest, nullptr);
  absl::Mutex mu;
  std::string seen;
  absl::StatusOr<int64_t> sub = manager_->SubscribeConsole("g1", [&](absl::string_view b) {
    absl::MutexLock lock(&mu);
    seen.append(b.data(), b.size());
  });
  ASSERT_TRUE(sub.ok());
  absl::StatusOr<ExecResult> waiting;
  std::thread exec([&] { waiting = manager_->Exec("g1", "sleep 100", absl::Seconds(3600)); });
  ReadExec(*guest);
  guest->agent.reset();  // The agent line hangs up; the process still runs.
  // Console output written after the hang-up is delivered after the hang-up is handled (one
  // event loop, events in the order they happened).
  ASSERT_TRUE(LinePeer(guest->console.get()).Write("after the hang-up\n"));
  {
    absl::MutexLock lock(&mu);
    auto has = [&] { return absl::StrContains(seen, "after the hang-up"); };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&has), kWait));
  }
  ASSERT_EQ(kill(guest->pid, SIGKILL), 0);
  exec.join();
  EXPECT_EQ(waiting.status().code(), absl::StatusCode::kUnavailable) << waiting.status();
  EXPECT_TRUE(absl::StrContains(waiting.status().message(), "vm g1: ended: killed by signal 9"))
      << waiting.status();
  manager_->UnsubscribeConsole(*sub);
}

TEST_F(VmManagerFakeUmlTest, AGuestRebootFailsExecsInFlightAndTheAgentAnswersAgain) {
  std::shared_ptr<FakeGuest> guest = StartRunning({"r1", 3, 64, {}});
  ASSERT_NE(guest, nullptr);
  absl::StatusOr<ExecResult> waiting;
  std::thread exec([&] { waiting = manager_->Exec("r1", "sleep 100", absl::Seconds(3600)); });
  ReadExec(*guest);
  // The kernel restarted (UML announces its mconsole again).
  ASSERT_TRUE(guest->Notify(mconsole_wire::kNotifySocket, "/w/uml/r1/mconsole").ok());
  exec.join();
  EXPECT_EQ(waiting.status().code(), absl::StatusCode::kUnavailable) << waiting.status();
  EXPECT_TRUE(absl::StrContains(waiting.status().message(), "rebooted")) << waiting.status();
  ASSERT_TRUE(manager_->WaitForState("r1", VmState::kBooting, kWait).ok());
  EXPECT_EQ(manager_->Exec("r1", "true").status().code(), absl::StatusCode::kFailedPrecondition);
  // Its agent starts and says so; the manager pings it on a new channel.
  ASSERT_TRUE(guest->Notify(mconsole_wire::kNotifyUser, "agent-ready r1\n").ok());
  AnswerPing(*guest);
  ASSERT_TRUE(manager_->WaitForState("r1", VmState::kRunning, kWait).ok());
  std::thread again([&] { waiting = manager_->Exec("r1", "hostname"); });
  auto [id, command] = ReadExec(*guest);
  ReplyExec(*guest, id, 0, "r1\n");
  again.join();
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  EXPECT_EQ(waiting->output, "r1\n");
  EXPECT_EQ(StatesOf("r1", 4), (std::vector<VmState>{VmState::kBooting, VmState::kRunning,
                                                     VmState::kBooting, VmState::kRunning}));
}

TEST_F(VmManagerFakeUmlTest, ASpecFileThatCannotBeWrittenIsReported) {
  std::shared_ptr<FakeGuest> guest = StartRunning({"s1", 4, 64, {}});
  ASSERT_NE(guest, nullptr);
  // A directory where the spec file goes: the durable write's rename fails.
  const std::string spec = work_ + "/vms/s1/spec";
  std::filesystem::remove(spec);
  std::filesystem::create_directories(spec + "/blocker");
  ASSERT_TRUE(guest->Notify(mconsole_wire::kNotifySocket, "/w/uml/s1/mconsole").ok());
  ASSERT_TRUE(manager_->WaitForState("s1", VmState::kBooting, kWait).ok());
  StatesOf("s1", 3);
  absl::MutexLock lock(&mu_);
  std::vector<VmEvent> states;  // not the startup report
  for (const VmEvent& e : events_) {
    if (!e.startup) states.push_back(e);
  }
  ASSERT_EQ(states.size(), 3u);
  EXPECT_TRUE(absl::StrContains(states[2].reason, "rebooting; the spec file could not be updated"))
      << states[2].reason;
}

TEST_F(VmManagerFakeUmlTest, AFailedLaunchLeavesNothing) {
  launcher_->FailNextLaunch(absl::ResourceExhaustedError("no more processes"));
  EXPECT_EQ(manager_->Start({"f1", 5, 64, {}}), absl::ResourceExhaustedError("no more processes"));
  EXPECT_TRUE(std::filesystem::is_empty(work_ + "/vms"));
  EXPECT_TRUE(std::filesystem::is_empty(work_ + "/uml"));
  EXPECT_TRUE(manager_->List().empty());
  // The name and number are free again.
  ASSERT_NE(StartRunning({"f1", 5, 64, {}}), nullptr);
}

TEST_F(VmManagerFakeUmlTest, ALabVmsEth0HasItsChosenMacAndNoAdminIp) {
  // A LAN's control socket: all UML and vmm need is that one exists.
  const std::string ctl = dir_.path() + "/lan.ctl";
  common::UniqueFd socket_fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ctl.copy(address.sun_path, sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(socket_fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  VmSpec spec{"lab1", 8, 64, {{0, ctl}}};
  spec.admin = false;
  spec.macs = {{0, "02:42:0a:00:00:01"}};
  std::shared_ptr<FakeGuest> guest = StartRunning(spec);
  ASSERT_NE(guest, nullptr);
  absl::StatusOr<std::string> cmdline =
      common::ReadFile(absl::StrCat("/proc/", guest->pid, "/cmdline"), 1 << 16);
  ASSERT_TRUE(cmdline.ok()) << cmdline.status();
  EXPECT_TRUE(absl::StrContains(*cmdline, absl::StrCat("eth0=daemon,02:42:0a:00:00:01,unix,", ctl)))
      << *cmdline;
  // The config disk gives eth0 no admin IP: it is the lab's.
  common::SpawnOptions debugfs;
  debugfs.argv = {"debugfs", "-R", "cat /admin_ip", work_ + "/vms/lab1/config.img"};
  debugfs.output = common::SpawnOptions::Output::kPipe;
  absl::StatusOr<common::RunResult> admin_ip = common::Run(debugfs);
  ASSERT_TRUE(admin_ip.ok()) << admin_ip.status();
  EXPECT_TRUE(admin_ip->succeeded()) << admin_ip->output;
  EXPECT_FALSE(absl::StrContains(admin_ip->output, "10.0.")) << admin_ip->output;
  // The spec file keeps the MAC for a restarted clownixd's hot-plugs.
  absl::StatusOr<SpecFile::Contents> saved = SpecFile::Read(work_ + "/vms/lab1/spec");
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->spec.macs, spec.macs);
}

TEST_F(VmManagerFakeUmlTest, HaltPowersOffThroughTheAgent) {
  std::shared_ptr<FakeGuest> guest = StartRunning({"h1", 6, 64, {}});
  ASSERT_NE(guest, nullptr);
  absl::Status halted;
  std::thread halt([&] { halted = manager_->Halt("h1", absl::Seconds(600)); });
  auto [id, command] = ReadExec(*guest);
  // The shutdown script gets three quarters of the deadline less 2 s, then the guest powers off.
  EXPECT_EQ(command, ConfigDisk::HaltCommand(absl::Seconds(448)));
  ASSERT_EQ(kill(guest->pid, SIGTERM), 0);  // The guest powers off.
  halt.join();
  EXPECT_TRUE(halted.ok()) << halted;
  EXPECT_EQ(manager_->LastExit("h1")->state, VmState::kStopped);
  // Already delivered when Halt returned: no waiting here (the reconciler starts it again at once).
  absl::MutexLock lock(&mu_);
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().name, "h1");
  EXPECT_EQ(events_.back().state, VmState::kStopped);
}

TEST_F(VmManagerFakeUmlTest, OnlyAVmWithSomethingToSetUpIsAskedForItsStartupReport) {
  auto startup_of = [this](const std::string& name) {
    absl::MutexLock lock(&mu_);
    auto reported = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const VmEvent& e : events_) {
        if (e.name == name && e.startup) return true;
      }
      return false;
    };
    EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&reported), kWait)) << name;
    for (const VmEvent& e : events_) {
      if (e.name == name && e.startup) return std::optional<StartupResult>(*e.startup);
    }
    return std::optional<StartupResult>();
  };
  // Nothing to run or set up: finished as soon as the agent answers, without an exec.
  std::shared_ptr<FakeGuest> plain = StartRunning({"s1", 3, 64, {}});
  ASSERT_NE(plain, nullptr);
  std::optional<StartupResult> result = startup_of("s1");
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok);
  EXPECT_EQ(result->output, "");
  absl::StatusOr<ExecResult> probe;
  std::thread exec([&] { probe = manager_->Exec("s1", "true"); });
  auto [probe_id, probe_command] = ReadExec(*plain);
  EXPECT_EQ(probe_command, "true");  // the first request after the ping
  ReplyExec(*plain, probe_id, 0, "");
  exec.join();
  ASSERT_TRUE(probe.ok()) << probe.status();

  // A startup script: the guest is asked, and its report is the VM's.
  VmSpec scripted{"s2", 4, 64, {}};
  scripted.guest.startup = "echo hi";
  ASSERT_TRUE(manager_->Start(scripted).ok());
  std::shared_ptr<FakeGuest> guest = launcher_->Guest("s2");
  ASSERT_NE(guest, nullptr);
  pids_.push_back(guest->pid);
  std::optional<std::string> ping = Agent(*guest).ReadLine();
  ASSERT_TRUE(ping && absl::StartsWith(*ping, "Q ping ")) << ping.value_or("");
  ASSERT_TRUE(
      Agent(*guest).Write(absl::StrCat("A ready boot-1 1234\nA pong ", ping->substr(7), "\n")));
  std::optional<std::string> ask = Agent(*guest).ReadLine();
  ASSERT_TRUE(ask.has_value());
  std::vector<std::string> f = absl::StrSplit(*ask, ' ');
  std::string command;
  ASSERT_EQ(f.size(), 6u) << *ask;
  ASSERT_TRUE(absl::Base64Unescape(f[5], &command));
  EXPECT_TRUE(absl::StrContains(command, "/run/clownix-config/startup_run")) << command;
  ReplyExec(*guest, f[2], 0, "clownix-startup 0 ok\nhi\n");
  result = startup_of("s2");
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok);
  EXPECT_EQ(result->output, "hi\n");
}

TEST_F(VmManagerFakeUmlTest, ANewManagerAdoptsRunningVmsAndStopsThoseItCannotDescribe) {
  // a1 boots an image of its own, which its adoption keeps knowing.
  const std::string image = dir_.path() + "/other.img";
  ASSERT_TRUE(common::WriteFileDurably(image, "another image").ok());
  std::shared_ptr<FakeGuest> kept = StartRunning({"a1", 1, 64, {}, image});
  std::shared_ptr<FakeGuest> broken = StartRunning({"a2", 2, 64, {}});
  ASSERT_TRUE(kept && broken);
  // clownixd restarts. Meanwhile a2's spec file was cut short.
  ASSERT_TRUE(Recreate().ok());
  ASSERT_TRUE(common::WriteFileDurably(work_ + "/vms/a2/spec", "format=2\nname=a2\n").ok());
  absl::StatusOr<std::vector<std::string>> adopted = manager_->Adopt();
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  EXPECT_EQ(*adopted, std::vector<std::string>{"a1"});

  // a1 is driven as before: its lines are re-opened by path.
  AnswerPing(*kept);
  ASSERT_TRUE(manager_->WaitForState("a1", VmState::kRunning, kWait).ok());
  absl::StatusOr<VmInfo> info = manager_->Get("a1");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->adopted);
  EXPECT_EQ(info->pid, kept->pid);
  EXPECT_EQ(info->spec.root_fs, image);
  absl::StatusOr<ExecResult> r;
  std::thread exec([&] { r = manager_->Exec("a1", "hostname"); });
  auto [id, command] = ReadExec(*kept);
  ReplyExec(*kept, id, 0, "a1\n");
  exec.join();
  ASSERT_TRUE(r.ok()) << r.status();

  // a2 cannot be managed without its spec: it was stopped, and says why.
  ASSERT_TRUE(manager_->WaitForState("a2", VmState::kCrashed, kWait).ok());
  const std::string reason = manager_->LastExit("a2")->reason;
  EXPECT_TRUE(absl::StartsWith(reason, "not adopted: ")) << reason;
  EXPECT_TRUE(absl::StrContains(reason, "no number= line")) << reason;
  EXPECT_TRUE(GroupGone(broken->pid));
  EXPECT_EQ(manager_->Get("a2").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StatesOf("a2", 3).back(), VmState::kCrashed);

  ASSERT_TRUE(manager_->Kill("a1").ok());
  EXPECT_EQ(manager_->LastExit("a1")->reason,
            "stopped by clownix; exited (adopted VM: status not available)");
}

// ---------------------------------------------------------------------------------------------
// A guest is not trusted: whatever it writes on its lines or sends as mconsole notifications,
// the manager stays responsive for the other VMs, the bad VM's calls end with a clear status by
// their deadline, and what the manager keeps of a line is bounded.

// Bytes a broken or hostile guest writes: random bytes (NULs and newlines included).
std::string Garbage(std::mt19937& rng, size_t size) {
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

// Runs an Exec on `name` and plays its guest's answer; returns the result.
absl::StatusOr<ExecResult> ExecAnswered(VmManager& manager, FakeGuest& guest,
                                        const std::string& name,
                                        const std::function<void(FakeGuest&)>& answer) {
  absl::StatusOr<ExecResult> result;
  std::thread exec([&] { result = manager.Exec(name, "hostname", absl::Seconds(30)); });
  answer(guest);
  exec.join();
  return result;
}

TEST_F(VmManagerFakeUmlTest, GarbageOnTheAgentLineLeavesTheManagerResponsive) {
  std::shared_ptr<FakeGuest> bad = StartRunning({"bad", 1, 64, {}});
  std::shared_ptr<FakeGuest> good = StartRunning({"good", 2, 64, {}});
  ASSERT_TRUE(bad && good);
  auto answer_good = [this](FakeGuest& guest) {
    auto [id, command] = ReadExec(guest);
    ReplyExec(guest, id, 0, "good\n");
  };

  // An Exec on the bad VM is waiting while its guest floods the line: random bytes, NULs, a line
  // longer than any reply (no newline), malformed replies and replies to nobody. It never answers.
  absl::StatusOr<ExecResult> waiting;
  std::thread exec([&] { waiting = manager_->Exec("bad", "true", absl::Seconds(1)); });
  auto [id, command] = ReadExec(*bad);
  std::thread flood([&, id = id] {
    std::mt19937 rng(1);
    LinePeer agent(bad->agent.get());
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(agent.Write(Garbage(rng, 256 * 1024)));
      ASSERT_TRUE(agent.Write(std::string(64 * 1024, '\0')));
      ASSERT_TRUE(agent.Write(std::string(AgentChannel::kMaxLineBytes + 1, 'A')));
      ASSERT_TRUE(agent.Write("\nA exec nobody.1 0 2 b2s=\nA pong\nA ready\nA exec\n"));
      ASSERT_TRUE(agent.Write(absl::StrCat("A exec ", id, "x 0 2 b2s=\n")));  // Another id.
    }
  });
  // Meanwhile the good VM works, more than once, and so does the manager's bookkeeping.
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<ExecResult> r = ExecAnswered(*manager_, *good, "good", answer_good);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->output, "good\n");
    EXPECT_EQ(manager_->Get("bad")->state, VmState::kRunning);
  }
  flood.join();
  exec.join();
  EXPECT_EQ(waiting.status().code(), absl::StatusCode::kDeadlineExceeded) << waiting.status();
  EXPECT_TRUE(absl::StrContains(waiting.status().message(), "vm bad: the agent did not answer"))
      << waiting.status();

  // A malformed reply to a waiting Exec fails it at once, saying so.
  absl::StatusOr<ExecResult> malformed =
      ExecAnswered(*manager_, *bad, "bad", [this](FakeGuest& guest) {
        auto [id, command] = ReadExec(guest);
        ASSERT_TRUE(Agent(guest).Write(absl::StrCat("\nA exec ", id, " 0 3 !!!\n")));
      });
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInternal) << malformed.status();
  EXPECT_TRUE(absl::StrContains(malformed.status().message(), "vm bad: "));
  EXPECT_TRUE(absl::StrContains(malformed.status().message(), "malformed"));

  // Once the guest behaves again, so does its VM.
  absl::StatusOr<ExecResult> fine = ExecAnswered(*manager_, *bad, "bad", [this](FakeGuest& guest) {
    auto [id, command] = ReadExec(guest);
    ASSERT_TRUE(Agent(guest).Write("\n"));
    ReplyExec(guest, id, 0, "bad\n");
  });
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_EQ(fine->output, "bad\n");
}

TEST_F(VmManagerFakeUmlTest, AFloodedConsoleStaysBoundedAndTheManagerResponsive) {
  std::shared_ptr<FakeGuest> bad = StartRunning({"bad", 1, 64, {}});
  std::shared_ptr<FakeGuest> good = StartRunning({"good", 2, 64, {}});
  ASSERT_TRUE(bad && good);
  absl::Mutex mu;
  size_t seen = 0;
  absl::StatusOr<int64_t> watcher = manager_->SubscribeConsole("bad", [&](absl::string_view b) {
    absl::MutexLock lock(&mu);
    seen += b.size();
  });
  ASSERT_TRUE(watcher.ok()) << watcher.status();

  // Random bytes, NULs and one endless line: three times what console.log may hold.
  std::mt19937 rng(2);
  std::string sent;
  while (sent.size() < 3 * ConsoleLine::kMaxLogBytes) {
    sent += Garbage(rng, 128 * 1024) + std::string(64 * 1024, '\0') + std::string(64 * 1024, 'x');
  }
  sent += "END";
  std::thread flood([&] { ASSERT_TRUE(LinePeer(bad->console.get()).Write(sent)); });
  // The good VM's Exec goes on meanwhile.
  absl::StatusOr<ExecResult> r = ExecAnswered(*manager_, *good, "good", [this](FakeGuest& guest) {
    auto [id, command] = ReadExec(guest);
    ReplyExec(guest, id, 0, "good\n");
  });
  ASSERT_TRUE(r.ok()) << r.status();
  flood.join();
  {
    absl::MutexLock lock(&mu);
    auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return seen == sent.size(); };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), kWait));
  }
  manager_->UnsubscribeConsole(*watcher);

  // What the manager keeps is bounded: a new subscriber gets the last kHistoryBytes, console.log
  // and console.log.1 at most kMaxLogBytes each, the latest output in them.
  std::string history;
  absl::StatusOr<int64_t> late = manager_->SubscribeConsole("bad", [&](absl::string_view b) {
    absl::MutexLock lock(&mu);
    history.append(b.data(), b.size());
  });
  ASSERT_TRUE(late.ok());
  manager_->UnsubscribeConsole(*late);
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(history, sent.substr(sent.size() - ConsoleLine::kHistoryBytes));
  }
  const std::string log = common::ReadFile(work_ + "/vms/bad/console.log").value_or("");
  const std::string previous = common::ReadFile(work_ + "/vms/bad/console.log.1").value_or("");
  EXPECT_LE(log.size(), ConsoleLine::kMaxLogBytes);
  EXPECT_LE(previous.size(), ConsoleLine::kMaxLogBytes);
  EXPECT_TRUE(absl::EndsWith(sent, previous + log));

  // Keystrokes still reach the flooded console.
  ASSERT_TRUE(manager_->WriteConsole("bad", "root\n").ok());
  EXPECT_EQ(LinePeer(bad->console.get()).ReadLine(), "root");
}

TEST_F(VmManagerFakeUmlTest, MalformedAndFloodedNotificationsAreHarmless) {
  std::shared_ptr<FakeGuest> bad = StartRunning({"bad", 1, 64, {}});
  std::shared_ptr<FakeGuest> good = StartRunning({"good", 2, 64, {}});
  ASSERT_TRUE(bad && good);
  mconsole_wire::Notify lie = {};
  lie.magic = mconsole_wire::kMagic;
  lie.version = mconsole_wire::kVersion;
  lie.type = mconsole_wire::kNotifyUser;
  auto as_bytes = [](const mconsole_wire::Notify& n, size_t size) {
    return std::string(reinterpret_cast<const char*>(&n), size);
  };
  std::vector<std::string> datagrams = {"", "x", std::string(16, '\xff'),
                                        std::string(sizeof(mconsole_wire::Notify) + 16, '\0')};
  lie.len = -1;
  datagrams.push_back(as_bytes(lie, 16));
  lie.len = 512;  // More than the datagram holds.
  datagrams.push_back(as_bytes(lie, 20));
  lie.len = 0;
  lie.type = 99;
  datagrams.push_back(as_bytes(lie, 16));
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) datagrams.push_back(Garbage(rng, rng() % 600));
  for (const std::string& d : datagrams) ASSERT_TRUE(bad->NotifyRaw(d).ok());
  // A guest that announces its agent without end: each one pings it again, nothing more.
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(bad->Notify(mconsole_wire::kNotifyUser, "agent-ready bad\n").ok());
  }

  auto answer = [this](FakeGuest& guest) {
    for (;;) {  // Skips the pings the announcements caused.
      std::optional<std::string> line = NextRequest(guest);
      ASSERT_TRUE(line.has_value());
      std::vector<std::string> f = absl::StrSplit(*line, ' ');
      if (f.size() == 6 && f[1] == "exec") {
        ReplyExec(guest, f[2], 0, "ok\n");
        return;
      }
    }
  };
  absl::StatusOr<ExecResult> r = ExecAnswered(*manager_, *good, "good", answer);
  ASSERT_TRUE(r.ok()) << r.status();
  r = ExecAnswered(*manager_, *bad, "bad", answer);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(manager_->Get("bad")->state, VmState::kRunning);
  absl::MutexLock lock(&mu_);
  for (const VmEvent& e : events_) EXPECT_NE(e.state, VmState::kCrashed) << e.name << e.reason;
}

}  // namespace
}  // namespace clownix::vmm
