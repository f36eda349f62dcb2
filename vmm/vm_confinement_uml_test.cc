// Real UML VMs confined as clownixd confines them (vm_confinement.h): each runs as its own user,
// without capabilities, under landlock; from inside, hostfs reaches nothing of the host however
// it is mounted; one VM's user cannot read another's files. Runs unsandboxed (BUILD): bazel's
// sandbox is a user namespace where only root is mapped, so no other user exists there.
#include <signal.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/landlock.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"
#include "vmm/testing/uml_test_env.h"
#include "vmm/vm_confinement.h"
#include "vmm/vm_manager.h"

namespace clownix::vmm {
namespace {

using ::clownix::vmm::testing::DefaultOptions;
using ::clownix::vmm::testing::ShortTempDir;

constexpr uint32_t kUidBase = 2100000000;
constexpr absl::Duration kBoot = absl::Seconds(60);

std::string ProcStatusLine(pid_t pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

struct stat StatOf(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st;
}

class VmConfinementUmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!common::LandlockRuleset::KernelAbi().ok()) GTEST_SKIP() << "no landlock here";
    // The VM users must reach the work dir; mkdtemp made it 0700.
    ASSERT_EQ(chmod(dir_.path().c_str(), 0711), 0);
    VmManagerOptions options = DefaultOptions(dir_.path() + "/w");
    options.confinement.vm_uid_base = kUidBase;
    absl::StatusOr<std::unique_ptr<VmManager>> manager = VmManager::Create(options);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(*manager);
    ASSERT_TRUE(manager_->confinement_warnings().empty())
        << manager_->confinement_warnings().front();
    for (auto [name, number] : {std::pair{"a", 1}, {"b", 2}}) {
      ASSERT_TRUE(manager_->Start({name, number, 64, {}}).ok());
    }
    for (const char* name : {"a", "b"}) {
      absl::Status running = manager_->WaitForState(name, VmState::kRunning, kBoot);
      ASSERT_TRUE(running.ok()) << running << "\nconsole.log:\n"
                                << common::ReadFileIfExists(
                                       absl::StrCat(dir_.path(), "/w/vms/", name, "/console.log"),
                                       1 << 20)
                                       .value_or("(unreadable)");
    }
  }
  void TearDown() override {
    if (!manager_) return;
    for (const VmInfo& vm : manager_->List()) manager_->Kill(vm.spec.name).IgnoreError();
  }

  pid_t PidOf(const std::string& name) {
    absl::StatusOr<VmInfo> info = manager_->Get(name);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? info->pid : 0;
  }
  ExecResult Guest(const std::string& vm, const std::string& command) {
    absl::StatusOr<ExecResult> result = manager_->Exec(vm, command, absl::Seconds(20));
    EXPECT_TRUE(result.ok()) << command << ": " << result.status();
    return result.ok() ? *result : ExecResult{};
  }

  ShortTempDir dir_;
  std::unique_ptr<VmManager> manager_;
};

TEST_F(VmConfinementUmlTest, EachVmRunsAsItsOwnUserWithoutCapabilitiesAndDiesFirst) {
  for (auto [name, number] : {std::pair{"a", 1}, {"b", 2}}) {
    const pid_t pid = PidOf(name);
    ASSERT_GT(pid, 0);
    const std::string id = absl::StrCat(kUidBase + number);
    EXPECT_EQ(ProcStatusLine(pid, "Uid"), absl::StrCat("\t", id, "\t", id, "\t", id, "\t", id));
    EXPECT_EQ(ProcStatusLine(pid, "Gid"), absl::StrCat("\t", id, "\t", id, "\t", id, "\t", id));
    EXPECT_EQ(ProcStatusLine(pid, "CapEff"), "\t0000000000000000");
    EXPECT_EQ(ProcStatusLine(pid, "CapPrm"), "\t0000000000000000");
    EXPECT_EQ(ProcStatusLine(pid, "NoNewPrivs"), "\t1");
    absl::StatusOr<std::string> adj =
        common::ReadFile(absl::StrCat("/proc/", pid, "/oom_score_adj"), 64);
    ASSERT_TRUE(adj.ok()) << adj.status();
    EXPECT_EQ(*adj, absl::StrCat(kVmOomScoreAdj, "\n"));
    // Its address space laid out without randomization (ConfinementPolicy says why).
    absl::StatusOr<std::string> personality =
        common::ReadFile(absl::StrCat("/proc/", pid, "/personality"), 64);
    ASSERT_TRUE(personality.ok()) << personality.status();
    EXPECT_NE(std::stoul(*personality, nullptr, 16) & ADDR_NO_RANDOMIZE, 0u) << *personality;

    // In cgroups of its own (where the host has them: the description says so).
    absl::StatusOr<std::string> groups =
        common::ReadFile(absl::StrCat("/proc/", pid, "/cgroup"), 1 << 16);
    ASSERT_TRUE(groups.ok()) << groups.status();
    if (!absl::StartsWith(manager_->cgroup_description(), "VMs run without")) {
      EXPECT_NE(groups->find(absl::StrCat("/clownix-")), std::string::npos) << *groups;
      EXPECT_NE(groups->find(absl::StrCat("/", name, "\n")), std::string::npos) << *groups;
    }

    // Its files are its user's alone.
    const std::string vm_dir = absl::StrCat(dir_.path(), "/w/vms/", name);
    for (const std::string& path : {vm_dir, absl::StrCat(dir_.path(), "/w/uml/", name)}) {
      struct stat st = StatOf(path);
      EXPECT_EQ(st.st_uid, kUidBase + number) << path;
      EXPECT_EQ(st.st_mode & 0777, 0700u) << path;
    }
    EXPECT_EQ(StatOf(vm_dir + "/cow").st_uid, kUidBase + number);
    EXPECT_EQ(StatOf(vm_dir + "/cow").st_mode & 0077, 0u);
  }
  // What it runs in the guest still works.
  EXPECT_EQ(Guest("a", "echo hello").output, "hello\n");
}

TEST_F(VmConfinementUmlTest, HostfsReachesNothingOfTheHostHoweverItIsMounted) {
  const std::string marker = dir_.path() + "/host-secret";
  ASSERT_TRUE(common::WriteFileDurably(marker, "host secret\n").ok());
  ASSERT_EQ(chmod(marker.c_str(), 0644), 0);  // Readable by anyone: only landlock stops it.
  const std::string escaped = absl::StrCat(dir_.path(), "/escaped");
  for (const std::string& option :
       {std::string(""), std::string("-o /"), std::string("-o /etc"),
        std::string("-o /../../../../../../etc"),
        absl::StrCat("-o /../../../../../..", dir_.path()), absl::StrCat("-o ", dir_.path())}) {
    SCOPED_TRACE(option);
    ExecResult mounted = Guest(
        "a", absl::StrCat("rm -rf /mnt/h; mkdir /mnt/h && mount -t hostfs none /mnt/h ", option));
    // Mounting may work (hostfs pins it, landlock refuses the rest) or fail; either way the
    // mount shows nothing and takes nothing.
    // A listing shows no entry (ls prints only its error, or nothing for an empty directory).
    ExecResult listed = Guest("a", "ls -a /mnt/h 2>/dev/null | grep -v '^\\.\\.*$'; true");
    EXPECT_EQ(listed.output, "");
    ExecResult taken = Guest("a",
                             "cat /mnt/h/passwd /mnt/h/host-secret /mnt/h/etc/passwd 2>&1; "
                             "echo x > /mnt/h/escaped 2>&1; echo x > /mnt/h/tmp/escaped "
                             "2>&1; true");
    EXPECT_EQ(taken.output.find("root:x:0"), std::string::npos) << taken.output;
    EXPECT_EQ(taken.output.find("host secret"), std::string::npos) << taken.output;
    EXPECT_NE(access(escaped.c_str(), F_OK), 0) << "the guest wrote " << escaped;
    if (mounted.exit_code == 0) Guest("a", "umount /mnt/h");
  }
  EXPECT_NE(access("/tmp/escaped", F_OK), 0);
}

TEST_F(VmConfinementUmlTest, OneVmsUserCannotReadAnothersFiles) {
  // What a guest that took over its UML process could try: read or write b's disk, config disk
  // and memory directory as a's user (and under a's landlock domain it could not even try).
  common::SpawnOptions options;
  const std::string b = dir_.path() + "/w/vms/b";
  options.argv = {"/bin/sh", "-c",
                  absl::StrFormat("cat %s/config.img >/dev/null; cat %s/cow >/dev/null; "
                                  "ls %s; echo x >> %s/cow",
                                  b, b, b, b)};
  options.run_as = common::SpawnOptions::Credentials{kUidBase + 1, kUidBase + 1};
  absl::StatusOr<common::RunResult> tried = common::Run(options);
  ASSERT_TRUE(tried.ok()) << tried.status();
  EXPECT_FALSE(tried->succeeded());
  EXPECT_NE(tried->output.find("Permission denied"), std::string::npos) << tried->output;
  EXPECT_EQ(tried->output.find("config.img\n"), std::string::npos) << tried->output;
  EXPECT_EQ(Guest("b", "echo still fine").output, "still fine\n");
}

TEST_F(VmConfinementUmlTest, AnotherUsersProcessCannotPassForAVm) {
  // uml/ is open to every user (sticky, like /tmp). Another user of the host makes uml/c with a
  // pid file naming a process of theirs whose command line says umid=c: Start of c is not
  // blocked by it ("running but not managed here"), and the impostor is not adopted.
  common::SpawnOptions impostor;
  const std::string entry = dir_.path() + "/w/uml/c";
  impostor.argv = {"/bin/bash", "-c",
                   absl::StrCat("mkdir ", entry, " && echo $$ > ", entry,
                                "/pid && exec -a umid=c /bin/sleep 600")};
  impostor.run_as = common::SpawnOptions::Credentials{12345, 12345};
  impostor.new_process_group = true;
  absl::StatusOr<common::SpawnedChild> spawned = common::Spawn(impostor);
  ASSERT_TRUE(spawned.ok()) << spawned.status();
  ASSERT_TRUE(testing::WaitForPath(entry + "/pid", absl::Seconds(10)));
  absl::Status started = manager_->Start({"c", 3, 64, {}});
  EXPECT_TRUE(started.ok()) << started;
  if (started.ok()) {
    absl::Status running = manager_->WaitForState("c", VmState::kRunning, kBoot);
    EXPECT_TRUE(running.ok()) << running;
  }
  EXPECT_EQ(kill(spawned->pid, 0), 0) << "the impostor is left alone";
  kill(-spawned->pid, SIGKILL);
  common::WaitForChild(spawned->pid).IgnoreError();  // Killed above: only the zombie goes.
}

}  // namespace
}  // namespace clownix::vmm
