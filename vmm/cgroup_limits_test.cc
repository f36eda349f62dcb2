// CgroupLimits on a directory tree laid out like cgroupfs (and a fake /proc pointing at it), and
// once on the machine's real cgroupfs when it is writable.
#include "vmm/cgroup_limits.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_io.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

namespace fs = std::filesystem;
using Kind = CgroupLimits::Kind;

void Write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string Read(const std::string& path) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  return text.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*text)) : "<missing>";
}

// A fake machine: ROOT/proc/self/{mountinfo,cgroup} and cgroup hierarchies under ROOT/fs.
class FakeMachine {
 public:
  FakeMachine() {
    char tmpl[] = "/tmp/cgl.XXXXXX";
    root_ = mkdtemp(tmpl);
    fs::create_directories(proc() + "/self");
  }
  ~FakeMachine() { fs::remove_all(root_); }

  std::string proc() const { return root_ + "/proc"; }
  std::string fs(const std::string& rest) const { return absl::StrCat(root_, "/fs", rest); }

  // This machine's layout: v1 memory and pids, v2 with only hugetlb.
  void LayOutHybrid(const std::string& memory_path = "/svc") {
    Mountinfo({"30 22 0:27 / " + fs("") + " rw - tmpfs tmpfs rw,mode=755",
               "31 30 0:28 / " + fs("/cpu") + " rw,relatime - cgroup cgroup rw,cpu",
               "34 30 0:31 / " + fs("/memory") + " rw,relatime - cgroup cgroup rw,memory",
               "38 30 0:35 / " + fs("/pids") + " rw,relatime - cgroup cgroup rw,pids",
               "39 30 0:36 / " + fs("/systemd") + " rw - cgroup cgroup rw,name=systemd",
               "40 30 0:37 / " + fs("/unified") + " rw,relatime - cgroup2 cgroup2 rw"});
    Cgroup("9:name=systemd:/\n8:pids:/\n4:memory:" + memory_path + "\n1:cpu:/\n0::/\n");
    fs::create_directories(fs("/memory" + memory_path));
    fs::create_directories(fs("/pids"));
    Write(fs("/unified/cgroup.controllers"), "hugetlb\n");
  }
  void Mountinfo(const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& l : lines) absl::StrAppend(&text, l, "\n");
    Write(proc() + "/self/mountinfo", text);
  }
  void Cgroup(const std::string& text) { Write(proc() + "/self/cgroup", text); }

  std::unique_ptr<CgroupLimits> Limits(const std::string& work_dir = "/var/lib/clownix") {
    absl::StatusOr<std::unique_ptr<CgroupLimits>> l = CgroupLimits::Create({work_dir, proc()});
    EXPECT_TRUE(l.ok()) << l.status();
    return l.ok() ? std::move(*l) : nullptr;
  }

 private:
  std::string root_;
};

// The clownix-HASH directory CgroupLimits made under `parent`.
std::string OnlyChild(const std::string& parent) {
  std::string found;
  for (const auto& e : fs::directory_iterator(parent)) {
    if (e.is_directory() && absl::StartsWith(e.path().filename().string(), "clownix-")) {
      EXPECT_TRUE(found.empty()) << "two groups under " << parent;
      found = e.path().string();
    }
  }
  return found;
}

TEST(CgroupLimitsTest, LimitsLeaveRoomAboveGuestRamAndGrowWithIt) {
  for (int mem : {48, 64, 256, 8192}) {
    CgroupLimits::Limits l = CgroupLimits::LimitsFor(mem);
    EXPECT_GT(l.memory_bytes, int64_t{mem} << 20) << mem;
    EXPECT_GE(l.pids, 64) << mem;
    EXPECT_LE(l.pids, 32768) << mem;
  }
  EXPECT_LT(CgroupLimits::LimitsFor(64).memory_bytes, CgroupLimits::LimitsFor(65).memory_bytes);
  EXPECT_LE(CgroupLimits::LimitsFor(64).pids, CgroupLimits::LimitsFor(8192).pids);
}

TEST(CgroupLimitsTest, V1MemoryAndPidsWhenV2HasNoControllers) {
  FakeMachine m;
  m.LayOutHybrid();
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  ASSERT_NE(limits, nullptr);
  EXPECT_EQ(limits->kind(), Kind::kV1) << limits->description();
  EXPECT_TRUE(absl::StrContains(limits->description(), "cgroup v1")) << limits->description();
  EXPECT_TRUE(absl::StrContains(limits->description(), "(it has: hugetlb)"))
      << limits->description();
  const std::string mem_base = OnlyChild(m.fs("/memory/svc"));
  const std::string pids_base = OnlyChild(m.fs("/pids"));
  ASSERT_FALSE(mem_base.empty());
  ASSERT_FALSE(pids_base.empty());
  EXPECT_EQ(fs::path(mem_base).filename(), fs::path(pids_base).filename());

  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> g = limits->Open("vm1", 64);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->dirs(), (std::vector<std::string>{mem_base + "/vm1", pids_base + "/vm1"}));
  const CgroupLimits::Limits want = CgroupLimits::LimitsFor(64);
  EXPECT_EQ(Read(mem_base + "/vm1/memory.limit_in_bytes"), absl::StrCat(want.memory_bytes));
  EXPECT_EQ(Read(mem_base + "/vm1/memory.swappiness"), "0");
  // No swap accounting in this machine's groups: memsw left alone.
  EXPECT_FALSE(fs::exists(mem_base + "/vm1/memory.memsw.limit_in_bytes"));
  EXPECT_EQ(Read(pids_base + "/vm1/pids.max"), absl::StrCat(want.pids));
  EXPECT_FALSE(fs::exists(mem_base + "/vm1/pids.max"));
  EXPECT_EQ((*g)->procs_fds().size(), 2u);
}

TEST(CgroupLimitsTest, V1SwapIsCappedAtTheMemoryLimitWhenAccounted) {
  FakeMachine m;
  m.LayOutHybrid();
  // Swap accounting shows as memsw files in every group; the first Create makes the base group.
  std::unique_ptr<CgroupLimits> first = m.Limits();
  const std::string base = OnlyChild(m.fs("/memory/svc"));
  Write(base + "/memory.memsw.limit_in_bytes", "9223372036854771712\n");
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  ASSERT_TRUE(limits->Open("vm1", 128).ok());
  EXPECT_EQ(Read(base + "/vm1/memory.memsw.limit_in_bytes"),
            absl::StrCat(CgroupLimits::LimitsFor(128).memory_bytes));
}

TEST(CgroupLimitsTest, AllVmsTogetherGetHalfTheHostsPids) {
  FakeMachine m;
  m.LayOutHybrid();
  Write(m.proc() + "/sys/kernel/pid_max", "32768\n");
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  ASSERT_EQ(limits->kind(), Kind::kV1) << limits->description();
  EXPECT_EQ(Read(OnlyChild(m.fs("/pids")) + "/pids.max"), "16384");
  EXPECT_FALSE(fs::exists(OnlyChild(m.fs("/memory/svc")) + "/pids.max"));
  EXPECT_TRUE(absl::StrContains(limits->description(), "all VMs together at most 16384 tasks"))
      << limits->description();
}

TEST(CgroupLimitsTest, ChildJoinsThroughTheOpenProcsFiles) {
  FakeMachine m;
  m.LayOutHybrid();
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> g = limits->Open("vm1", 64);
  ASSERT_TRUE(g.ok()) << g.status();
  // What the launcher does: its child writes "0" into each before exec.
  common::SpawnOptions joining;
  joining.argv = {"/bin/true"};
  joining.join_cgroup_fds = (*g)->procs_fds();
  absl::StatusOr<common::RunResult> ran = common::Run(joining);
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_TRUE(ran->succeeded());
  for (const std::string& dir : (*g)->dirs()) EXPECT_EQ(Read(dir + "/cgroup.procs"), "0") << dir;

  // A descriptor that cannot be written: the child does not exec, Spawn says why.
  joining.join_cgroup_fds = {-1};
  EXPECT_FALSE(common::Run(joining).ok());
}

TEST(CgroupLimitsTest, ReadsUsageFromV1Files) {
  FakeMachine m;
  m.LayOutHybrid();
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> g = limits->Open("vm1", 64);
  ASSERT_TRUE(g.ok()) << g.status();
  const std::string mem = (*g)->dirs()[0], pids = (*g)->dirs()[1];
  Write(mem + "/memory.usage_in_bytes", "41349120\n");
  Write(mem + "/memory.max_usage_in_bytes", "42569728\n");
  Write(mem + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  Write(pids + "/pids.current", "9\n");
  Write(pids + "/pids.peak", "31\n");
  Write(pids + "/pids.events", "max 7\n");
  absl::StatusOr<CgroupLimits::Usage> u = (*g)->ReadUsage();
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->memory_bytes, 41349120);
  EXPECT_EQ(u->memory_peak_bytes, 42569728);
  EXPECT_EQ(u->oom_kills, 2);
  EXPECT_EQ(u->pids, 9);
  EXPECT_EQ(u->pids_peak, 31);
  EXPECT_EQ(u->pids_max_hits, 7);

  // A control file with garbage in it is an error, not a zero.
  Write(pids + "/pids.current", "lots\n");
  EXPECT_EQ((*g)->ReadUsage().status().code(), absl::StatusCode::kInternal);
}

TEST(CgroupLimitsTest, RemoveWaitsForTheGroupToEmpty) {
  FakeMachine m;
  m.LayOutHybrid();
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> g = limits->Open("vm1", 64);
  ASSERT_TRUE(g.ok()) << g.status();
  // The fake's control files stand for processes still in the group.
  absl::Status busy = (*g)->Remove();
  EXPECT_EQ(busy.code(), absl::StatusCode::kFailedPrecondition) << busy;
  EXPECT_TRUE(absl::StrContains(busy.message(), "vm \"vm1\" still holds processes")) << busy;
  // Emptied as the kernel would once the VM's processes are gone.
  for (const std::string& dir : (*g)->dirs()) {
    for (const auto& e : fs::directory_iterator(dir)) fs::remove(e.path());
  }
  EXPECT_TRUE((*g)->Remove().ok());
  for (const std::string& dir : (*g)->dirs()) EXPECT_FALSE(fs::exists(dir)) << dir;
  EXPECT_TRUE((*g)->Remove().ok());  // Gone already: nothing to do.
  EXPECT_EQ((*g)->ReadUsage().status().code(), absl::StatusCode::kNotFound);
}

TEST(CgroupLimitsTest, OpenTwiceReopensTheSameGroup) {
  FakeMachine m;
  m.LayOutHybrid();
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> a = limits->Open("vm1", 64);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> b = limits->Open("vm1", 256);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*a)->dirs(), (*b)->dirs());
  EXPECT_EQ(Read((*b)->dirs()[0] + "/memory.limit_in_bytes"),
            absl::StrCat(CgroupLimits::LimitsFor(256).memory_bytes));
}

TEST(CgroupLimitsTest, GroupNameIsPerWorkDir) {
  FakeMachine m;
  m.LayOutHybrid();
  std::unique_ptr<CgroupLimits> a = m.Limits("/tmp/w1");
  std::unique_ptr<CgroupLimits> a_again = m.Limits("/tmp//w1/");
  std::unique_ptr<CgroupLimits> b = m.Limits("/tmp/w2");
  ASSERT_TRUE(a->Open("vm", 64).ok());
  ASSERT_TRUE(a_again->Open("vm", 64).ok());
  ASSERT_TRUE(b->Open("vm", 64).ok());
  int groups = 0;
  for (const auto& e : fs::directory_iterator(m.fs("/pids"))) {
    if (absl::StartsWith(e.path().filename().string(), "clownix-")) ++groups;
  }
  EXPECT_EQ(groups, 2);
}

TEST(CgroupLimitsTest, BadVmNameOrMemIsRefused) {
  FakeMachine m;
  m.LayOutHybrid();
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  EXPECT_EQ(limits->Open("../etc", 64).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(limits->Open("vm1", 8).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(limits->Adopt("a/b", 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CgroupLimits::Create({"", m.proc()}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CgroupLimitsTest, AdoptFindsTheGroupsARunningVmIsIn) {
  FakeMachine m;
  m.LayOutHybrid();
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  ASSERT_TRUE(limits->Open("vm1", 64).ok());
  const std::string name = fs::path(OnlyChild(m.fs("/pids"))).filename();
  // Started by a clownixd that ran in another memory group: found there all the same.
  fs::create_directories(m.fs("/memory/old/" + name + "/vm1"));
  Write(m.proc() + "/4242/cgroup",
        "8:pids:/" + name + "/vm1\n4:memory:/old/" + name + "/vm1\n0::/\n");
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> g = limits->Adopt("vm1", 4242);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->dirs(), (std::vector<std::string>{m.fs("/memory/old/" + name + "/vm1"),
                                                    m.fs("/pids/" + name + "/vm1")}));
  EXPECT_EQ((*g)->procs_fds().size(), 2u);

  // In another VM's group, in no clownix group, or gone: NOT_FOUND.
  EXPECT_EQ(limits->Adopt("vm2", 4242).status().code(), absl::StatusCode::kNotFound);
  Write(m.proc() + "/4243/cgroup", "8:pids:/\n4:memory:/svc\n0::/\n");
  absl::Status outside = limits->Adopt("vm1", 4243).status();
  EXPECT_EQ(outside.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(outside.message(), "not in a cgroup of this clownixd")) << outside;
  EXPECT_EQ(limits->Adopt("vm1", 4244).status().code(), absl::StatusCode::kNotFound);
}

TEST(CgroupLimitsTest, V2DelegatedMovesItsProcessesToALeafAndHandsControllersDown) {
  FakeMachine m;
  m.Mountinfo({"30 22 0:27 / " + m.fs("") + " rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"});
  m.Cgroup("0::/system.slice/clownixd.service\n");
  const std::string own = m.fs("/system.slice/clownixd.service");
  Write(own + "/cgroup.controllers", "cpu io memory pids\n");
  Write(own + "/cgroup.subtree_control", "\n");
  Write(own + "/cgroup.procs", "4242\n");
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  ASSERT_NE(limits, nullptr);
  EXPECT_EQ(limits->kind(), Kind::kV2) << limits->description();
  EXPECT_EQ(Read(own + "/clownixd/cgroup.procs"), "4242");
  EXPECT_EQ(Read(own + "/cgroup.subtree_control"), "+memory +pids");
  const std::string base = OnlyChild(own);
  EXPECT_EQ(Read(base + "/cgroup.subtree_control"), "+memory +pids");
  EXPECT_TRUE(absl::StrContains(limits->description(), base)) << limits->description();

  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> g = limits->Open("vm1", 64);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->dirs(), std::vector<std::string>{base + "/vm1"});
  EXPECT_EQ((*g)->procs_fds().size(), 1u);
  const CgroupLimits::Limits want = CgroupLimits::LimitsFor(64);
  EXPECT_EQ(Read(base + "/vm1/memory.max"), absl::StrCat(want.memory_bytes));
  EXPECT_EQ(Read(base + "/vm1/memory.oom.group"), "1");
  EXPECT_EQ(Read(base + "/vm1/pids.max"), absl::StrCat(want.pids));
  EXPECT_FALSE(fs::exists(base + "/vm1/memory.swap.max"));  // No swap file in the base: no swap.

  Write(base + "/vm1/memory.current", "1000\n");
  Write(base + "/vm1/memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n");
  Write(base + "/vm1/pids.current", "3\n");
  Write(base + "/vm1/pids.events", "max 0\n");
  absl::StatusOr<CgroupLimits::Usage> u = (*g)->ReadUsage();
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->memory_bytes, 1000);
  EXPECT_EQ(u->memory_peak_bytes, 0);  // No memory.peak (before Linux 5.19).
  EXPECT_EQ(u->oom_kills, 1);
  EXPECT_EQ(u->pids, 3);

  Write(m.proc() + "/99/cgroup",
        "0::/system.slice/clownixd.service/" + fs::path(base).filename().string() + "/vm1\n");
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> adopted = limits->Adopt("vm1", 99);
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  EXPECT_EQ((*adopted)->dirs(), (*g)->dirs());
}

TEST(CgroupLimitsTest, V2SwapOffWhenTheKernelHasSwap) {
  FakeMachine m;
  m.Mountinfo({"30 22 0:27 / " + m.fs("") + " rw - cgroup2 cgroup2 rw"});
  m.Cgroup("0::/\n");
  Write(m.fs("/cgroup.controllers"), "memory pids\n");
  Write(m.fs("/cgroup.subtree_control"), "memory pids\n");
  Write(m.fs("/cgroup.procs"), "1\n4242\n");
  std::unique_ptr<CgroupLimits> first = m.Limits();
  ASSERT_EQ(first->kind(), Kind::kV2) << first->description();
  // The root group is exempt from "no internal processes": nothing moved.
  EXPECT_FALSE(fs::exists(m.fs("/clownixd")));
  Write(OnlyChild(m.fs("")) + "/memory.swap.max", "max\n");
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> g = limits->Open("vm1", 64);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(Read((*g)->dirs()[0] + "/memory.swap.max"), "0");
}

TEST(CgroupLimitsTest, MountOfASubtreeAndEscapedPaths) {
  // Docker without a cgroup namespace: the container's own subtree is mounted, /proc/self/cgroup
  // shows the full path; and a mount point with a blank in it.
  FakeMachine m;
  m.Mountinfo({"34 30 0:31 /docker/abc " + m.fs("/mem\\040ory") + " rw - cgroup cgroup rw,memory",
               "35 30 0:32 /docker/abc " + m.fs("/pids") + " rw - cgroup cgroup rw,pids"});
  m.Cgroup("8:pids:/docker/abc\n4:memory:/docker/abc/x\n");
  fs::create_directories(m.fs("/mem ory/x"));
  fs::create_directories(m.fs("/pids"));
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  ASSERT_EQ(limits->kind(), Kind::kV1) << limits->description();
  EXPECT_FALSE(OnlyChild(m.fs("/mem ory/x")).empty());
  EXPECT_FALSE(OnlyChild(m.fs("/pids")).empty());
}

TEST(CgroupLimitsTest, MemoryAndPidsMountedTogetherAreOneGroup) {
  FakeMachine m;
  m.Mountinfo({"34 30 0:31 / " + m.fs("/mp") + " rw - cgroup cgroup rw,memory,pids"});
  m.Cgroup("4:memory,pids:/\n");
  fs::create_directories(m.fs("/mp"));
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  ASSERT_EQ(limits->kind(), Kind::kV1) << limits->description();
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> g = limits->Open("vm1", 64);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ((*g)->dirs().size(), 1u);
  EXPECT_EQ(Read((*g)->dirs()[0] + "/pids.max"), absl::StrCat(CgroupLimits::LimitsFor(64).pids));
  EXPECT_EQ(Read((*g)->dirs()[0] + "/memory.swappiness"), "0");
  Write((*g)->dirs()[0] + "/memory.usage_in_bytes", "5\n");
  Write((*g)->dirs()[0] + "/memory.oom_control", "oom_kill 0\n");
  Write((*g)->dirs()[0] + "/pids.current", "3\n");
  Write((*g)->dirs()[0] + "/pids.events", "max 0\n");
  absl::StatusOr<CgroupLimits::Usage> u = (*g)->ReadUsage();
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->memory_bytes, 5);
  EXPECT_EQ(u->pids, 3);
}

TEST(CgroupLimitsTest, NoneSaysWhyAndItsGroupsDoNothing) {
  FakeMachine m;
  // v2 without controllers, v1 memory but no pids hierarchy.
  m.Mountinfo({"34 30 0:31 / " + m.fs("/memory") + " rw - cgroup cgroup rw,memory",
               "40 30 0:37 / " + m.fs("/unified") + " rw - cgroup2 cgroup2 rw"});
  m.Cgroup("4:memory:/\n0::/\n");
  Write(m.fs("/unified/cgroup.controllers"), "\n");
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  ASSERT_EQ(limits->kind(), Kind::kNone);
  const std::string& d = limits->description();
  EXPECT_TRUE(absl::StrContains(d, "without host memory and process limits")) << d;
  EXPECT_TRUE(absl::StrContains(d, "(it has: none)")) << d;
  EXPECT_TRUE(absl::StrContains(d, "no cgroup v1 pids hierarchy")) << d;
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> g = limits->Open("vm1", 64);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE((*g)->procs_fds().empty());
  EXPECT_TRUE((*g)->dirs().empty());
  EXPECT_TRUE((*g)->Remove().ok());
  EXPECT_EQ((*g)->ReadUsage().status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> adopted = limits->Adopt("vm1", 1);
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  EXPECT_TRUE((*adopted)->dirs().empty());
}

TEST(CgroupLimitsTest, NoneWhenTheGroupCannotBeMade) {
  FakeMachine m;
  m.LayOutHybrid("/gone");
  fs::remove_all(m.fs("/memory/gone"));  // As a read-only or vanished group would refuse mkdir.
  std::unique_ptr<CgroupLimits> limits = m.Limits();
  ASSERT_EQ(limits->kind(), Kind::kNone);
  EXPECT_TRUE(absl::StrContains(limits->description(), "cgroup v1: mkdir "))
      << limits->description();
}

TEST(CgroupLimitsTest, NoneWithoutProc) {
  absl::StatusOr<std::unique_ptr<CgroupLimits>> limits =
      CgroupLimits::Create({"/var/lib/clownix", "/nonexistent-proc"});
  ASSERT_TRUE(limits.ok()) << limits.status();
  EXPECT_EQ((*limits)->kind(), Kind::kNone);
  EXPECT_TRUE(absl::StrContains((*limits)->description(), "/nonexistent-proc/self/"))
      << (*limits)->description();
}

TEST(CgroupLimitsTest, DestroyingRemovesTheBaseGroupsOnlyWhenEmpty) {
  FakeMachine m;
  m.LayOutHybrid();
  { std::unique_ptr<CgroupLimits> limits = m.Limits("/w/empty"); }
  EXPECT_TRUE(OnlyChild(m.fs("/pids")).empty());
  {
    std::unique_ptr<CgroupLimits> limits = m.Limits("/w/busy");
    ASSERT_TRUE(limits->Open("vm1", 64).ok());
  }
  EXPECT_FALSE(OnlyChild(m.fs("/pids")).empty());  // vm1 still there, to be adopted.
}

// The machine's own cgroupfs: a child joins a VM group through the open procs files, the group
// cannot be removed while it lives, Adopt finds it from its pid, and it is removed once it is gone.
TEST(CgroupLimitsRealTest, ChildJoinsAndGroupIsRemovedAfterIt) {
  const char* tmp = getenv("TEST_TMPDIR");
  absl::StatusOr<std::unique_ptr<CgroupLimits>> limits =
      CgroupLimits::Create({absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/real-cgroup-test")});
  ASSERT_TRUE(limits.ok()) << limits.status();
  if ((*limits)->kind() == Kind::kNone) {
    GTEST_SKIP() << "this machine's cgroupfs is not usable here: " << (*limits)->description();
  }
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> g = (*limits)->Open("real1", 64);
  ASSERT_TRUE(g.ok()) << g.status();
  // A process in the group until the test kills it.
  common::SpawnOptions joining;
  joining.argv = {"/bin/sleep", "600"};
  joining.join_cgroup_fds = (*g)->procs_fds();
  absl::StatusOr<common::SpawnedChild> spawned = common::Spawn(joining);
  ASSERT_TRUE(spawned.ok()) << spawned.status();
  const pid_t child = spawned->pid;
  absl::StatusOr<CgroupLimits::Usage> u = (*g)->ReadUsage();
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->pids, 1);
  EXPECT_EQ((*g)->Remove().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> adopted = (*limits)->Adopt("real1", child);
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  EXPECT_EQ((*adopted)->dirs(), (*g)->dirs());
  EXPECT_EQ((*limits)->Adopt("real1", getpid()).status().code(), absl::StatusCode::kNotFound);

  kill(child, SIGKILL);
  ASSERT_TRUE(common::WaitForChild(child).ok());
  // A reaped child has left its groups (the kernel unlinks it at exit).
  absl::Status removed = (*g)->Remove();
  EXPECT_TRUE(removed.ok()) << removed;
  for (const std::string& dir : (*g)->dirs()) EXPECT_FALSE(fs::exists(dir)) << dir;
}

}  // namespace
}  // namespace clownix::vmm
