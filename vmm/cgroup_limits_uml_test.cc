// Real UML VMs in their cgroups, as VmManager confines them (vm_confinement.h: each VM its own
// user, landlock, and groups CgroupLimits::Open made and the launcher's child joined before
// exec): a memory hog and a fork bomb in one guest stay inside its limits, while the host and a
// neighbour VM keep answering, and a VM's groups go when it ends. The test reads and tightens a
// VM's groups through a CgroupLimits of its own over the same work dir, which Adopt()s them from
// the VM's pid. Skipped where the machine allows no per-VM groups (e.g. in Bazel's sandbox,
// where cgroupfs is read-only: hence the no-sandbox tag). Prints what it measured ("measured:").
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/file_io.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"
#include "vmm/cgroup_limits.h"
#include "vmm/testing/uml_test_env.h"
#include "vmm/vm_manager.h"

namespace clownix::vmm {
namespace {

using ::clownix::vmm::testing::DefaultOptions;
using ::clownix::vmm::testing::ShortTempDir;

constexpr absl::Duration kBoot = absl::Seconds(60);
// VM n runs as user kUidBase + n, as clownixd runs them (--vm_uid_base's default).
constexpr uint32_t kUidBase = 2100000000;
// A fork bomb at the lowest priority (busybox has renice, not nice), so that the guest's agent
// still answers.
constexpr char kBomb[] =
    "sh -c 'renice -n 19 -p $$ >/dev/null; b() { b | b & }; b' </dev/null >/dev/null 2>&1 & "
    "echo lit";
// The peak may pass the limit by a charge in flight (seen: one page).
constexpr int64_t kChargeSlack = 1 << 20;

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

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 || errno != ENOENT;
}

class CgroupLimitsUmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The VM users must reach the work dir; mkdtemp made it 0700.
    ASSERT_EQ(chmod(dir_.path().c_str(), 0711), 0);
    VmManagerOptions options = DefaultOptions(dir_.path() + "/w");
    options.confinement.vm_uid_base = kUidBase;
    absl::StatusOr<std::unique_ptr<VmManager>> m = VmManager::Create(options);
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = std::move(*m);
    for (const std::string& warning : manager_->confinement_warnings()) {
      std::cerr << "confinement: " << warning << "\n";
    }
    absl::StatusOr<std::unique_ptr<CgroupLimits>> limits =
        CgroupLimits::Create({dir_.path() + "/w"});
    ASSERT_TRUE(limits.ok()) << limits.status();
    limits_ = std::move(*limits);
    if (limits_->kind() == CgroupLimits::Kind::kNone) {
      GTEST_SKIP() << "no per-VM cgroups on this machine: " << manager_->cgroup_description();
    }
    std::cerr << "cgroups: " << manager_->cgroup_description() << "\n";
  }
  void TearDown() override {
    if (manager_) {
      for (const VmInfo& vm : manager_->List()) manager_->Kill(vm.spec.name).IgnoreError();
    }
    groups_.clear();
  }
  void StartAndWait(const VmSpec& spec) {
    ASSERT_TRUE(manager_->Start(spec).ok());
    absl::Status s = manager_->WaitForState(spec.name, VmState::kRunning, kBoot);
    ASSERT_TRUE(s.ok()) << s;
  }
  // The groups VmManager made for running VM `vm`, found from its pid; nullptr (and a failure)
  // if there are none.
  const CgroupLimits::VmGroup* Group(const std::string& vm) {
    auto it = groups_.find(vm);
    if (it != groups_.end()) return it->second.get();
    absl::StatusOr<VmInfo> info = manager_->Get(vm);
    EXPECT_TRUE(info.ok()) << info.status();
    if (!info.ok()) return nullptr;
    absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> group = limits_->Adopt(vm, info->pid);
    EXPECT_TRUE(group.ok()) << group.status();
    if (!group.ok()) return nullptr;
    EXPECT_FALSE((*group)->dirs().empty()) << vm;
    for (const std::string& dir : (*group)->dirs()) {
      EXPECT_TRUE(absl::EndsWith(dir, "/" + vm)) << dir;
      EXPECT_TRUE(absl::StrContains(dir, "/clownix-")) << dir;
    }
    return (groups_[vm] = std::move(*group)).get();
  }
  CgroupLimits::Usage UsageOf(const std::string& vm) {
    const CgroupLimits::VmGroup* group = Group(vm);
    if (group == nullptr) return {};
    absl::StatusOr<CgroupLimits::Usage> u = group->ReadUsage();
    EXPECT_TRUE(u.ok()) << u.status();
    return u.ok() ? *u : CgroupLimits::Usage{};
  }
  // After VM `vm` ended: VmManager removed its groups.
  void ExpectGroupsGone(const std::string& vm) {
    auto it = groups_.find(vm);
    ASSERT_NE(it, groups_.end()) << vm << "'s groups were never looked up";
    for (const std::string& dir : it->second->dirs()) EXPECT_FALSE(Exists(dir)) << dir;
    groups_.erase(it);
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
  std::unique_ptr<VmManager> manager_;
  std::unique_ptr<CgroupLimits> limits_;
  std::map<std::string, std::unique_ptr<CgroupLimits::VmGroup>> groups_;
};

TEST_F(CgroupLimitsUmlTest, MemoryHogStaysInsideTheGuest) {
  const CgroupLimits::Limits limit = CgroupLimits::LimitsFor(64);
  std::cerr << "measured: limits for mem=64M: memory " << Mib(limit.memory_bytes) << ", pids "
            << limit.pids << "\n";
  StartAndWait({"hog", 1, 64, {}});
  const CgroupLimits::VmGroup* group = Group("hog");
  ASSERT_NE(group, nullptr);
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

  ASSERT_TRUE(manager_->Kill("hog").ok());
  ExpectGroupsGone("hog");
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
            << MemoryStat(Group("bomb")->dirs()[0]) << "; host fork+exec worst " << worst_fork
            << "\n";
  EXPECT_LE(u.pids_peak, limit.pids);
  EXPECT_LE(u.memory_peak_bytes, limit.memory_bytes + kChargeSlack);
  EXPECT_EQ(u.oom_kills, 0);
  EXPECT_EQ(UsageOf("calm").oom_kills, 0);

  ASSERT_TRUE(manager_->Kill("bomb").ok());
  ExpectGroupsGone("bomb");
}

TEST_F(CgroupLimitsUmlTest, ForkBombMeetsThePidsLimit) {
  // A pids limit below what the guest's RAM allows (as a large guest's bomb would meet it): the
  // host refuses the forks, the limit holds, the host and the neighbour answer.
  constexpr int kTightPids = 150;
  StartAndWait({"bomb", 7, 64, {}});
  StartAndWait({"calm", 8, 64, {}});
  const CgroupLimits::VmGroup* group = Group("bomb");
  ASSERT_NE(group, nullptr);
  SetControl(group->dirs().back(), "pids.max", absl::StrCat(kTightPids));
  // The high-water mark counts from the group's creation: the boot, under the default limit, may
  // have been above the tight one already (seen: 219 on a loaded host). The bomb must not raise it.
  const int64_t peak_before_the_bomb = UsageOf("bomb").pids_peak;
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
  EXPECT_LE(u.pids_peak, std::max<int64_t>(kTightPids, peak_before_the_bomb));

  ASSERT_TRUE(manager_->Kill("bomb").ok());
  ExpectGroupsGone("bomb");
}

TEST_F(CgroupLimitsUmlTest, MemoryLimitEndsTheVmNotTheHost) {
  // A VM whose memory limit is below its RAM (as a host process that leaks would meet it): the
  // guest fills a tmpfs step by step, which the host cannot reclaim (guest RAM is shmem, and
  // there is no swap). Near the limit the group holds it; past it the kernel kills inside the
  // group only (the VM's main process: the largest), and the neighbour and the host live on.
  StartAndWait({"big", 3, 128, {}});
  StartAndWait({"calm", 4, 64, {}});
  const CgroupLimits::VmGroup* group = Group("big");
  ASSERT_NE(group, nullptr);
  constexpr int64_t kTightMemory = 96 << 20;
  constexpr int64_t kNear = 8 << 20;  // Four steps of the guest's fill.
  SetControl(group->dirs()[0], "memory.limit_in_bytes", absl::StrCat(kTightMemory));
  absl::StatusOr<ExecResult> mounted =
      manager_->Exec("big", "mount -t tmpfs -o size=120m none /mnt && echo mounted");
  ASSERT_TRUE(mounted.ok()) << mounted.status();
  ASSERT_EQ(mounted->output, "mounted\n");

  // 2 MiB at a time, reading the group after each step, until it is near its limit.
  CgroupLimits::Usage u = UsageOf("big");
  int step = 0;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(120);
       u.memory_bytes < kTightMemory - kNear && absl::Now() < deadline; ++step) {
    absl::StatusOr<ExecResult> fill = manager_->Exec(
        "big", absl::StrCat("dd if=/dev/zero of=/mnt/", step, " bs=1M count=2 2>&1 && echo ok"));
    ASSERT_TRUE(fill.ok()) << "step " << step << ", " << Describe(u) << ": " << fill.status();
    ASSERT_TRUE(absl::EndsWith(fill->output, "ok\n")) << fill->output;
    u = UsageOf("big");
    EXPECT_LE(u.memory_bytes, kTightMemory);
  }
  std::cerr << "measured: 128M guest limited to 96 MiB, " << 2 * step
            << " MiB in its tmpfs: " << Describe(u) << "; " << MemoryStat(group->dirs()[0]) << "\n";
  ASSERT_GE(u.memory_bytes, kTightMemory - kNear) << Describe(u);
  EXPECT_LE(u.memory_peak_bytes, kTightMemory + kChargeSlack);
  ExpectAnswers("calm");

  // Past the limit: the host's OOM killer ends the VM.
  for (const absl::Time deadline = absl::Now() + absl::Seconds(120); absl::Now() < deadline;
       ++step) {
    absl::StatusOr<ExecResult> fill = manager_->Exec(
        "big", absl::StrCat("dd if=/dev/zero of=/mnt/", step, " bs=1M count=2 2>&1 && echo ok"));
    if (!fill.ok()) break;  // The VM died under it (or no longer answers: WaitForState says).
    ASSERT_TRUE(absl::EndsWith(fill->output, "ok\n")) << "step " << step << ": " << fill->output;
  }
  absl::Status ended = manager_->WaitForState("big", VmState::kCrashed, absl::Seconds(60));
  ASSERT_TRUE(ended.ok()) << ended;
  absl::StatusOr<VmEvent> exit = manager_->LastExit("big");
  ASSERT_TRUE(exit.ok()) << exit.status();
  std::cerr << "measured: past the limit (" << 2 * step << " MiB in its tmpfs): " << exit->reason
            << "\n";
  EXPECT_TRUE(absl::StrContains(exit->reason, "killed by signal 9")) << exit->reason;
  ExpectGroupsGone("big");

  ExpectAnswers("calm");
  EXPECT_EQ(UsageOf("calm").oom_kills, 0);
  HostForkExec(1);  // The host still forks (asserted inside).
}

}  // namespace
}  // namespace clownix::vmm
