#include "vmm/process_group.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/file_io.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

TEST(ProcessGroupTest, KillsAndWaitsForEveryMember) {
  common::SpawnOptions options;
  // A leader with two children that would outlive it, like UML's helpers. The leader prints once
  // both run, so the test knows the group is complete.
  options.argv = {"/bin/sh", "-c", "sleep 1000 & sleep 1001 & echo up; wait"};
  options.new_process_group = true;
  options.output = common::SpawnOptions::Output::kPipe;
  absl::StatusOr<common::SpawnedChild> child = common::Spawn(options);
  ASSERT_TRUE(child.ok()) << child.status();
  char up[3];
  ASSERT_EQ(read(child->output.get(), up, sizeof(up)), 3);
  EXPECT_EQ(ProcessGroup::Members(child->pid).size(), 3u);

  absl::Status killed = ProcessGroup::KillAndWait(child->pid, absl::Seconds(30));
  EXPECT_TRUE(killed.ok()) << killed;
  // The leader is our child: a zombie until reaped, killed by SIGKILL.
  absl::StatusOr<int> status = common::WaitForChild(child->pid);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
  // The others were reparented and exited: none runs any more (whoever adopted them may not have
  // reaped them yet).
  for (pid_t pid : ProcessGroup::Members(child->pid)) {
    std::string stat = common::ReadFileIfExists(absl::StrCat("/proc/", pid, "/stat")).value_or("");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;  // Gone meanwhile.
    EXPECT_EQ(stat.substr(paren + 2, 1), "Z") << "pid " << pid << " still runs";
  }
}

TEST(ProcessGroupTest, AGroupAlreadyGoneIsFine) {
  common::SpawnOptions options;
  options.argv = {"/bin/true"};
  options.new_process_group = true;
  absl::StatusOr<common::SpawnedChild> child = common::Spawn(options);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(common::WaitForChild(child->pid).ok());
  EXPECT_TRUE(ProcessGroup::KillAndWait(child->pid, absl::Seconds(1)).ok());
  EXPECT_EQ(ProcessGroup::KillAndWait(0, absl::Seconds(1)).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace clownix::vmm
