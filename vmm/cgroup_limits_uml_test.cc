// Real UML VMs in their cgroups (CgroupLimits): a memory hog and a fork bomb in one guest stay
// inside its limits, while the host and a neighbour VM keep answering. The VMs are launched by a
// launcher that joins the VM's groups before exec (what the real launcher does through
// common::Spawn). Skipped where the machine allows no per-VM groups (e.g. in Bazel's sandbox,
// where cgroupfs is read-only: hence the no-sandbox tag). Prints what it measured ("measured:").
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/file_io.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"
#include "vmm/cgroup_limits.h"
#include "vmm/testing/uml_test_env.h"
#include "vmm/uml_launcher.h"
#include "vmm/vm_manager.h"

extern char** environ;

namespace clownix::vmm {
namespace {

using ::clownix::vmm::testing::DefaultOptions;
using ::clownix::vmm::testing::ShortTempDir;

constexpr absl::Duration kBoot = absl::Seconds(60);
constexpr int kFirstJoinFd = 7;
// A fork bomb at the lowest priority (busybox has renice, not nice), so that the guest's agent
// still answers.
constexpr char kBomb[] =
    "sh -c 'renice -n 19 -p $$ >/dev/null; b() { b | b & }; b' </dev/null >/dev/null 2>&1 & "
    "echo lit";
// The peak may pass the limit by a charge in flight (seen: one page).
constexpr int64_t kChargeSlack = 1 << 20;

// The real launcher's spawn, with the VM's cgroups joined before exec: a shell writes "0" into
// each inherited cgroup.procs descriptor (what CgroupLimits::JoinInChild does in a spawned child),
// closes them and execs linux.uml in its place (same pid, so VmManager sees no difference).
class JoiningLauncher final : public UmlLauncher {
 public:
  explicit JoiningLauncher(const CgroupLimits* limits) : limits_(limits) {}

  absl::StatusOr<Launched> Launch(const Request& request) override {
    std::string vm;
    int mem_mib = 0;
    for (const std::string& arg : request.argv) {
      if (absl::StartsWith(arg, "umid=")) vm = arg.substr(5);
      if (absl::StartsWith(arg, "mem=")) {
        EXPECT_TRUE(absl::SimpleAtoi(absl::StripSuffix(arg.substr(4), "M"), &mem_mib)) << arg;
      }
    }
    absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> group = limits_->Open(vm, mem_mib);
    if (!group.ok()) return group.status();

    common::SpawnOptions options;
    std::string script;
    std::vector<std::string> closes;
    options.fds = {{request.console_master, kConsoleMasterFd},
                   {request.console_slave, kConsoleSlaveFd},
                   {request.agent_master, kAgentMasterFd},
                   {request.agent_slave, kAgentSlaveFd}};
    int child_fd = kFirstJoinFd;
    for (int fd : (*group)->procs_fds()) {
      absl::StrAppend(&script, "echo 0 >&", child_fd, " && ");
      closes.push_back(absl::StrCat(child_fd, ">&-"));
      options.fds.push_back({fd, child_fd++});
    }
    absl::StrAppend(&script, "exec \"$@\" ", absl::StrJoin(closes, " "));
    options.argv = {"/bin/sh", "-c", script, "sh"};
    options.argv.insert(options.argv.end(), request.argv.begin(), request.argv.end());
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "LD_PRELOAD=") && !absl::StartsWith(*e, "TMPDIR=")) {
        env.emplace_back(*e);
      }
    }
    // The guest's RAM is a file in TMPDIR: on tmpfs, as where clownixd runs without TMPDIR
    // (Bazel's is on disk, where the kernel could write guest RAM back instead of limiting it).
    env.push_back("TMPDIR=/dev/shm");
    if (!request.preload.empty()) env.push_back("LD_PRELOAD=" + request.preload);
    options.env = std::move(env);
    options.output = common::SpawnOptions::Output::kFile;
    options.output_path = request.log_path;
    absl::StatusOr<common::SpawnedChild> child = common::Spawn(options);
    if (!child.ok()) return child.status();
    {
      absl::MutexLock lock(&mu_);
      groups_[vm] = std::move(*group);
    }
    Launched launched;
    launched.pid = child->pid;
    launched.pidfd = std::move(child->pidfd);
    return launched;
  }

  // Removes every VM's groups (their VMs killed), so the test leaves none behind.
  void RemoveGroups() {
    absl::MutexLock lock(&mu_);
    for (const auto& [vm, group] : groups_) {
      absl::Status s = group->Remove();
      EXPECT_TRUE(s.ok()) << s;
    }
  }

  const CgroupLimits::VmGroup* Group(const std::string& vm) {
    absl::MutexLock lock(&mu_);
    auto it = groups_.find(vm);
    return it == groups_.end() ? nullptr : it->second.get();
  }

 private:
  const CgroupLimits* limits_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<CgroupLimits::VmGroup>> groups_ ABSL_GUARDED_BY(mu_);
};

std::string Mib(int64_t bytes) { return absl::StrCat(bytes / (1 << 20), " MiB"); }

std::string Describe(const CgroupLimits::Usage& u) {
  return absl::StrCat("memory ", Mib(u.memory_bytes), " (peak ", Mib(u.memory_peak_bytes),
                      "), pids ", u.pids, " (peak ", u.pids_peak, "), oom kills ", u.oom_kills,
                      ", forks refused ", u.pids_max_hits);
}

// memory.stat's breakdown of a v1 memory group, the lines that say where the memory went.
std::string MemoryStat(const std::string& dir) {
  absl::StatusOr<std::string> stat = common::ReadFileIfExists(dir + "/memory.stat");
  if (!stat.ok() || stat->empty()) return "";
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(*stat, '\n')) {
    for (absl::string_view key : {"cache ", "rss ", "shmem ", "mapped_file ", "dirty "}) {
      int64_t n = 0;
      if (absl::StartsWith(line, key) && absl::SimpleAtoi(line.substr(key.size()), &n)) {
        out.push_back(absl::StrCat(key, Mib(n)));
      }
    }
  }
  return absl::StrJoin(out, ", ");
}

class CgroupLimitsUmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<CgroupLimits>> limits =
        CgroupLimits::Create({dir_.path() + "/w"});
    ASSERT_TRUE(limits.ok()) << limits.status();
    limits_ = std::move(*limits);
    if (limits_->kind() == CgroupLimits::Kind::kNone) {
      GTEST_SKIP() << "no per-VM cgroups on this machine: " << limits_->description();
    }
    std::cerr << "cgroups: " << limits_->description() << "\n";
    launcher_ = std::make_shared<JoiningLauncher>(limits_.get());
    VmManagerOptions options = DefaultOptions(dir_.path() + "/w");
    options.launcher = launcher_;
    absl::StatusOr<std::unique_ptr<VmManager>> m = VmManager::Create(options);
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = std::move(*m);
  }
  void TearDown() override {
    if (manager_) {
      for (const VmInfo& vm : manager_->List()) manager_->Kill(vm.spec.name).IgnoreError();
    }
    if (launcher_) launcher_->RemoveGroups();
  }
  void StartAndWait(const VmSpec& spec) {
    ASSERT_TRUE(manager_->Start(spec).ok());
    absl::Status s = manager_->WaitForState(spec.name, VmState::kRunning, kBoot);
    ASSERT_TRUE(s.ok()) << s;
  }
  CgroupLimits::Usage UsageOf(const std::string& vm) {
    const CgroupLimits::VmGroup* group = launcher_->Group(vm);
    EXPECT_NE(group, nullptr) << vm;
    if (group == nullptr) return {};
    absl::StatusOr<CgroupLimits::Usage> u = group->ReadUsage();
    EXPECT_TRUE(u.ok()) << u.status();
    return u.ok() ? *u : CgroupLimits::Usage{};
  }
  // Writes a control file of a VM's group directly: tests tighten limits with it.
  void SetControl(const std::string& dir, const std::string& file, const std::string& value) {
    std::string path = dir + "/" + file;
    if (file == "memory.limit_in_bytes" && access(path.c_str(), F_OK) != 0)
      path = dir + "/memory.max";
    std::ofstream out(path);
    out << value;
    out.close();
    EXPECT_TRUE(out.good()) << "writing " << value << " to " << path;
  }

  // The longest of `n` fork+exec+wait of /bin/true on the host.
  absl::Duration HostForkExec(int n) {
    absl::Duration worst;
    for (int i = 0; i < n; ++i) {
      const absl::Time start = absl::Now();
      common::SpawnOptions o;
      o.argv = {"true"};
      absl::StatusOr<common::RunResult> r = common::Run(o);
      EXPECT_TRUE(r.ok() && r->succeeded()) << r.status();
      worst = std::max(worst, absl::Now() - start);
    }
    return worst;
  }
  void ExpectAnswers(const std::string& vm) {
    absl::StatusOr<ExecResult> r = manager_->Exec(vm, "echo alive", absl::Seconds(30));
    ASSERT_TRUE(r.ok()) << vm << ": " << r.status();
    EXPECT_EQ(r->output, "alive\n") << vm;
  }

  ShortTempDir dir_;
  std::unique_ptr<CgroupLimits> limits_;
  std::shared_ptr<JoiningLauncher> launcher_;
  std::unique_ptr<VmManager> manager_;
};

TEST_F(CgroupLimitsUmlTest, MemoryHogStaysInsideTheGuest) {
  const CgroupLimits::Limits limit = CgroupLimits::LimitsFor(64);
  std::cerr << "measured: limits for mem=64M: memory " << Mib(limit.memory_bytes) << ", pids "
            << limit.pids << "\n";
  StartAndWait({"hog", 1, 64, {}});
  const CgroupLimits::VmGroup* group = launcher_->Group("hog");
  ASSERT_NE(group, nullptr);
  absl::StatusOr<VmInfo> info = manager_->Get("hog");
  ASSERT_TRUE(info.ok()) << info.status();
  // The VM's main process is in its groups, where Adopt (after a restart) finds them.
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> adopted = limits_->Adopt("hog", info->pid);
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  EXPECT_EQ((*adopted)->dirs(), group->dirs());
  std::cerr << "measured: booted, idle: " << Describe(UsageOf("hog")) << "; "
            << MemoryStat(group->dirs()[0]) << "\n";

  // A guest process doubles a string until the guest's RAM is gone (the guest's OOM killer ends
  // it), then a file as large as the guest's RAM is written to its disk (host page cache). The VM
  // lives through both, inside its limit, and the host kills nothing.
  absl::StatusOr<ExecResult> hog =
      manager_->Exec("hog", "awk 'BEGIN { s = \"x\"; while (1) s = s s }' 2>&1; echo awk ended $?",
                     absl::Seconds(120));
  ASSERT_TRUE(hog.ok()) << hog.status();
  std::cerr << "measured: guest memory hog: " << hog->output;
  absl::StatusOr<ExecResult> disk = manager_->Exec(
      "hog", "dd if=/dev/zero of=/fill bs=1M count=64 2>&1 | tail -1; sync; rm /fill; echo done",
      absl::Seconds(120));
  ASSERT_TRUE(disk.ok()) << disk.status();
  EXPECT_TRUE(absl::StrContains(disk->output, "done")) << disk->output;
  const CgroupLimits::Usage u = UsageOf("hog");
  std::cerr << "measured: after the hogs: " << Describe(u) << "; " << MemoryStat(group->dirs()[0])
            << "\n";
  EXPECT_EQ(u.oom_kills, 0) << "the limit is too tight for a guest using all its RAM";
  EXPECT_LE(u.memory_peak_bytes, limit.memory_bytes + kChargeSlack);
  ExpectAnswers("hog");

  // Once the VM is killed, its groups empty and go.
  ASSERT_TRUE(manager_->Kill("hog").ok());
  absl::Status removed = group->Remove();
  EXPECT_TRUE(removed.ok()) << removed;
}

TEST_F(CgroupLimitsUmlTest, ForkBombUnderTheDefaultLimits) {
  // In a 64 MiB guest the guest's own RAM stops a fork bomb below the pids limit: the host's
  // limits hold, the host and the neighbour answer, the host kills nothing.
  const CgroupLimits::Limits limit = CgroupLimits::LimitsFor(64);
  StartAndWait({"bomb", 5, 64, {}});
  StartAndWait({"calm", 6, 64, {}});
  std::cerr << "measured: host fork+exec, quiet: " << HostForkExec(20) << " worst of 20\n";
  absl::StatusOr<ExecResult> bomb = manager_->Exec("bomb", kBomb);
  ASSERT_TRUE(bomb.ok()) << bomb.status();
  EXPECT_EQ(bomb->output, "lit\n");
  CgroupLimits::Usage u;
  absl::Duration worst_fork;
  // Until the bomb is well under way (it peaked at 368-422 host tasks in earlier runs).
  for (const absl::Time deadline = absl::Now() + absl::Seconds(60); absl::Now() < deadline;) {
    u = UsageOf("bomb");
    if (u.pids >= 300 || u.pids_max_hits > 0) break;
    worst_fork = std::max(worst_fork, HostForkExec(1));  // Also paces the loop.
  }
  const absl::Time calm_start = absl::Now();
  ExpectAnswers("calm");
  std::cerr << "measured: neighbour exec during the bomb: " << absl::Now() - calm_start << "\n";
  worst_fork = std::max(worst_fork, HostForkExec(20));
  u = UsageOf("bomb");
  std::cerr << "measured: fork bomb, default limits: " << Describe(u) << "; "
            << MemoryStat(launcher_->Group("bomb")->dirs()[0]) << "; host fork+exec worst "
            << worst_fork << "\n";
  EXPECT_LE(u.pids_peak, limit.pids);
  EXPECT_LE(u.memory_peak_bytes, limit.memory_bytes + kChargeSlack);
  EXPECT_EQ(u.oom_kills, 0);
  EXPECT_EQ(UsageOf("calm").oom_kills, 0);
}

TEST_F(CgroupLimitsUmlTest, ForkBombMeetsThePidsLimit) {
  // A pids limit below what the guest's RAM allows (as a large guest's bomb would meet it): the
  // host refuses the forks, the limit holds, the host and the neighbour answer.
  constexpr int kTightPids = 150;
  StartAndWait({"bomb", 7, 64, {}});
  StartAndWait({"calm", 8, 64, {}});
  const CgroupLimits::VmGroup* group = launcher_->Group("bomb");
  ASSERT_NE(group, nullptr);
  SetControl(group->dirs().back(), "pids.max", absl::StrCat(kTightPids));
  absl::StatusOr<ExecResult> bomb = manager_->Exec("bomb", kBomb);
  ASSERT_TRUE(bomb.ok()) << bomb.status();
  EXPECT_EQ(bomb->output, "lit\n");
  CgroupLimits::Usage u;
  absl::Duration worst_fork;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(60); absl::Now() < deadline;) {
    u = UsageOf("bomb");
    if (u.pids_max_hits > 0) break;
    worst_fork = std::max(worst_fork, HostForkExec(1));  // Also paces the loop.
  }
  EXPECT_GT(u.pids_max_hits, 0);
  const absl::Time calm_start = absl::Now();
  ExpectAnswers("calm");
  std::cerr << "measured: neighbour exec during the bomb: " << absl::Now() - calm_start << "\n";
  worst_fork = std::max(worst_fork, HostForkExec(20));
  absl::StatusOr<ExecResult> answer = manager_->Exec("bomb", "echo alive", absl::Seconds(10));
  u = UsageOf("bomb");
  std::cerr << "measured: fork bomb, pids.max " << kTightPids << ": " << Describe(u)
            << "; host fork+exec worst " << worst_fork << "; the bombed VM answers: "
            << (answer.ok() ? answer->output : answer.status().ToString()) << "\n";
  EXPECT_LE(u.pids_peak, kTightPids);

  ASSERT_TRUE(manager_->Kill("bomb").ok());
  absl::Status removed = group->Remove();
  EXPECT_TRUE(removed.ok()) << removed;
}

TEST_F(CgroupLimitsUmlTest, MemoryLimitEndsTheVmNotTheHost) {
  // A VM whose memory limit is below its RAM (as a host process that leaks would meet it): the
  // kernel kills inside its group only, and the neighbour lives on.
  StartAndWait({"big", 3, 128, {}});
  StartAndWait({"calm", 4, 64, {}});
  const CgroupLimits::VmGroup* group = launcher_->Group("big");
  ASSERT_NE(group, nullptr);
  constexpr int64_t kTightMemory = 96 << 20;
  SetControl(group->dirs()[0], "memory.limit_in_bytes", absl::StrCat(kTightMemory));
  absl::StatusOr<ExecResult> hog =
      manager_->Exec("big", "awk 'BEGIN { s = \"x\"; while (1) s = s s }' 2>&1; echo awk ended $?",
                     absl::Seconds(60));
  std::cerr << "measured: hog in a 128M guest limited to 96 MiB: "
            << (hog.ok() ? hog->output : hog.status().ToString()) << "\n";
  absl::Status dead = manager_->WaitForState("big", VmState::kCrashed, absl::Seconds(60));
  const CgroupLimits::Usage u = UsageOf("big");
  std::cerr << "measured: " << Describe(u) << "; " << dead << "\n";
  EXPECT_GT(u.oom_kills, 0);
  EXPECT_LE(u.memory_peak_bytes, kTightMemory + kChargeSlack);
  ExpectAnswers("calm");
  EXPECT_EQ(UsageOf("calm").oom_kills, 0);
}

}  // namespace
}  // namespace clownix::vmm
