#include "vmm/vm_exit.h"

#include <signal.h>
#include <sys/wait.h>

#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

constexpr int Exited(int code) { return code << 8; }  // As waitpid encodes it.
constexpr int Signaled(int signal) { return signal; }

TEST(ClassifyExitTest, GuestPowerOffIsAStop) {
  ExitFacts facts;
  facts.wait_status = Exited(0);
  ExitVerdict v = ClassifyExit(facts);
  EXPECT_EQ(v.state, VmState::kStopped);
  EXPECT_EQ(v.reason, "exited with status 0");
}

TEST(ClassifyExitTest, NonZeroExitOrSignalIsACrash) {
  ExitFacts facts;
  facts.wait_status = Exited(3);
  EXPECT_EQ(ClassifyExit(facts).state, VmState::kCrashed);
  EXPECT_EQ(ClassifyExit(facts).reason, "exited with status 3");
  facts.wait_status = Signaled(SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(*facts.wait_status));
  ExitVerdict v = ClassifyExit(facts);
  EXPECT_EQ(v.state, VmState::kCrashed);
  EXPECT_EQ(v.reason, "killed by signal 9 (Killed)");
}

TEST(ClassifyExitTest, AnOomKillIsACrashThatSaysSo) {
  ExitFacts facts;
  facts.wait_status = Signaled(SIGKILL);
  facts.oom_kills = 1;
  ExitVerdict v = ClassifyExit(facts);
  EXPECT_EQ(v.state, VmState::kCrashed);
  EXPECT_EQ(v.reason,
            "killed by the host's out-of-memory killer (1 process of its cgroup); killed by "
            "signal 9 (Killed)");
  facts.oom_kills = 3;
  EXPECT_EQ(ClassifyExit(facts).reason,
            "killed by the host's out-of-memory killer (3 processes of its cgroup); killed by "
            "signal 9 (Killed)");
}

TEST(ClassifyExitTest, AStopClownixAskedForIsNotAnOomKill) {
  ExitFacts facts;
  facts.wait_status = Signaled(SIGKILL);
  facts.stop_requested = true;
  facts.oom_kills = 1;
  EXPECT_EQ(ClassifyExit(facts).state, VmState::kStopped);
}

TEST(ClassifyExitTest, AStopClownixAskedForIsAStopWhateverTheStatus) {
  ExitFacts facts;
  facts.wait_status = Signaled(SIGKILL);
  facts.stop_requested = true;
  ExitVerdict v = ClassifyExit(facts);
  EXPECT_EQ(v.state, VmState::kStopped);
  EXPECT_EQ(v.reason, "stopped by clownix; killed by signal 9 (Killed)");
}

TEST(ClassifyExitTest, APanicIsACrashEvenWhenAStopWasAskedFor) {
  ExitFacts facts;
  facts.wait_status = Signaled(SIGABRT);
  facts.panic = "sysrq triggered crash";
  facts.stop_requested = true;
  ExitVerdict v = ClassifyExit(facts);
  EXPECT_EQ(v.state, VmState::kCrashed);
  EXPECT_EQ(v.reason, "kernel panic: sysrq triggered crash; killed by signal 6 (Aborted)");
  // Even one that exited 0 afterwards.
  facts.wait_status = Exited(0);
  EXPECT_EQ(ClassifyExit(facts).state, VmState::kCrashed);
}

TEST(ClassifyExitTest, UnknownStatus) {
  ExitFacts facts;
  facts.adopted = true;
  ExitVerdict v = ClassifyExit(facts);
  EXPECT_EQ(v.state, VmState::kCrashed);
  EXPECT_EQ(v.reason, "exited (adopted VM: status not available)");
  facts.stop_requested = true;
  EXPECT_EQ(ClassifyExit(facts).state, VmState::kStopped);
  facts = ExitFacts();
  EXPECT_EQ(ClassifyExit(facts).reason, "exited (status not available)");
}

TEST(ClassifyExitTest, AnAbandonedVmIsACrashThatSaysWhy) {
  ExitFacts facts;
  facts.adopted = true;
  facts.stop_requested = true;  // Adopt kills it.
  facts.abandoned = "spec file: no end line";
  ExitVerdict v = ClassifyExit(facts);
  EXPECT_EQ(v.state, VmState::kCrashed);
  EXPECT_EQ(v.reason,
            "not adopted: spec file: no end line; exited (adopted VM: status not available)");
}

TEST(ClassifyExitTest, CleanupErrorsAreAppended) {
  ExitFacts facts;
  facts.wait_status = Exited(0);
  facts.cleanup_error = "1 process(es) of group 42 still ran";
  ExitVerdict v = ClassifyExit(facts);
  EXPECT_EQ(v.state, VmState::kStopped);
  EXPECT_EQ(v.reason, "exited with status 0; 1 process(es) of group 42 still ran");
}

}  // namespace
}  // namespace clownix::vmm
