// clownixd restart: a first process (vmm_tool hold, standing in for clownixd) starts VMs and is
// SIGKILLed; a new VmManager over the same work dir adopts the VMs that still run, cleans up
// the one that died meanwhile, and drives the adopted VMs (agent, console, kill).
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vmm/testing/uml_test_env.h"
#include "vmm/vm_manager.h"

namespace clownix::vmm {
namespace {

using ::clownix::vmm::testing::DefaultOptions;
using ::clownix::vmm::testing::GroupGone;
using ::clownix::vmm::testing::ShortTempDir;
using ::testing::UnorderedElementsAre;

// Kills the VMs' process groups on the way out whatever happens.
struct GroupReaper {
  ~GroupReaper() {
    for (auto& [name, pid] : pids) kill(-pid, SIGKILL);
  }
  std::map<std::string, pid_t> pids;
};

TEST(AdoptionTest, NewManagerAdoptsRunningVmsAfterACrash) {
  ShortTempDir dir;
  const std::string work = dir.path() + "/w";
  VmManagerOptions options = DefaultOptions(work);
  GroupReaper reaper;

  // The "old clownixd".
  common::SpawnOptions hold;
  hold.argv = {"vmm/tools/vmm_tool",       "hold", work, options.root_fs,
               options.xstate_fix_library, "3"};
  hold.output = common::SpawnOptions::Output::kPipe;
  hold.stderr_to_parent = true;
  absl::StatusOr<common::SpawnedChild> tool = common::Spawn(hold);
  ASSERT_TRUE(tool.ok()) << tool.status();
  FILE* lines = fdopen(tool->output.release(), "r");
  ASSERT_NE(lines, nullptr);
  char line[256];
  while (fgets(line, sizeof(line), lines) != nullptr) {
    std::vector<std::string> f = absl::StrSplit(absl::StripAsciiWhitespace(line), ' ');
    if (f.size() == 3 && f[0] == "running") {
      int pid = 0;
      ASSERT_TRUE(absl::SimpleAtoi(f[2], &pid));
      reaper.pids[f[1]] = pid;
    }
    if (absl::StartsWith(line, "ready")) break;
  }
  fclose(lines);
  ASSERT_EQ(reaper.pids.size(), 3u);

  // clownixd dies hard. The VMs keep running.
  ASSERT_EQ(kill(tool->pid, SIGKILL), 0);
  ASSERT_TRUE(common::WaitForChild(tool->pid).ok());
  for (auto& [name, pid] : reaper.pids) EXPECT_EQ(kill(pid, 0), 0) << name;
  // And one VM dies while nobody watches (waited for on a pidfd, so it is really gone).
  int a3 = static_cast<int>(syscall(SYS_pidfd_open, reaper.pids["a3"], 0));
  ASSERT_GE(a3, 0);
  kill(-reaper.pids["a3"], SIGKILL);
  pollfd p = {a3, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  close(a3);

  auto m = VmManager::Create(options);
  ASSERT_TRUE(m.ok()) << m.status();
  VmManager& manager = **m;
  absl::StatusOr<std::vector<std::string>> adopted = manager.Adopt();
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  EXPECT_THAT(*adopted, UnorderedElementsAre("a1", "a2"));
  EXPECT_FALSE(std::filesystem::exists(work + "/uml/a3"));
  EXPECT_FALSE(std::filesystem::exists(work + "/vms/a3/cow"));
  // Idempotent: nothing is adopted twice.
  adopted = manager.Adopt();
  ASSERT_TRUE(adopted.ok());
  EXPECT_TRUE(adopted->empty());
  EXPECT_EQ(manager.List().size(), 2u);

  for (const char* name : {"a1", "a2"}) {
    ASSERT_TRUE(manager.WaitForState(name, VmState::kRunning, absl::Seconds(30)).ok()) << name;
    absl::StatusOr<VmInfo> info = manager.Get(name);
    ASSERT_TRUE(info.ok());
    EXPECT_TRUE(info->adopted);
    EXPECT_EQ(info->pid, reaper.pids[name]);
    absl::StatusOr<ExecResult> r = manager.Exec(name, "hostname");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->output, std::string(name) + "\n");
  }
  EXPECT_EQ(manager.Start({"a1", 9, 64, {}}).code(), absl::StatusCode::kAlreadyExists);

  // The console is re-attached too.
  absl::Mutex mu;
  std::string seen;
  auto sub = manager.SubscribeConsole("a1", [&](absl::string_view b) {
    absl::MutexLock l(&mu);
    seen.append(b.data(), b.size());
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(manager.WriteConsole("a1", "echo adopted-$((40+2))\n").ok());
  {
    absl::MutexLock l(&mu);
    auto has = [&] { return absl::StrContains(seen, "adopted-42"); };
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&has), absl::Seconds(10)));
  }
  manager.UnsubscribeConsole(*sub);

  // Watching works for adopted VMs: an outside kill -9 is noticed and cleaned up.
  ASSERT_EQ(kill(reaper.pids["a2"], SIGKILL), 0);
  ASSERT_TRUE(manager.WaitForState("a2", VmState::kCrashed, absl::Seconds(30)).ok());
  EXPECT_TRUE(GroupGone(reaper.pids["a2"]));
  ASSERT_TRUE(manager.Halt("a1", absl::Seconds(10)).ok());
  EXPECT_TRUE(GroupGone(reaper.pids["a1"]));
}

}  // namespace
}  // namespace clownix::vmm
