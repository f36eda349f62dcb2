// The console relay (vmm/rootfs/guest/clownix_console.cc), run on the host on a pty as a guest
// runs it on its tty0 (the session's controlling terminal, as busybox init gives it), with the
// host's own side (ConsoleLine) on the pty's master.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/file_io.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"
#include "vmm/console_line.h"
#include "vmm/pty.h"
#include "vmm/testing/line_peer.h"

namespace clownix::vmm {
namespace {

constexpr char kRelay[] = "vmm/rootfs/clownix_console.bin";

// What the console has shown, and waits on it.
class Screen {
 public:
  ConsoleLine::Callback Callback() {
    return [this](absl::string_view bytes) {
      absl::MutexLock lock(&mu_);
      shown_.append(bytes.data(), bytes.size());
    };
  }
  bool WaitFor(absl::string_view text, absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&mu_);
    auto has = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return absl::StrContains(shown_, text); };
    return mu_.AwaitWithTimeout(absl::Condition(&has), timeout);
  }
  std::string Get() {
    absl::MutexLock lock(&mu_);
    return shown_;
  }

 private:
  absl::Mutex mu_;
  std::string shown_ ABSL_GUARDED_BY(mu_);
};

class ClownixConsoleTest : public ::testing::Test {
 protected:
  // The relay running `/bin/sh -c script` on the pty's slave; ConsoleLine on its master. The
  // script starts at the first keystroke: StartWithKey types a newline for it.
  void StartWithKey(const std::string& script) {
    Start(script);
    ASSERT_TRUE(screen_.WaitFor("Press Enter for a shell."));
    ASSERT_TRUE(line_->Write("\n", absl::Now() + absl::Seconds(10)).ok());
  }
  void Start(const std::string& script) {
    absl::StatusOr<Pty> pty = Pty::Open();
    ASSERT_TRUE(pty.ok()) << pty.status();
    pty_ = std::make_unique<Pty>(std::move(*pty));
    line_ = std::make_unique<ConsoleLine>("");
    common::UniqueFd master(dup(pty_->master()));
    ASSERT_EQ(fcntl(master.get(), F_SETFL, fcntl(master.get(), F_GETFL) | O_NONBLOCK), 0);
    const int fd = line_->Attach(std::move(master));
    ASSERT_GE(fd, 0);
    line_->Subscribe(1, screen_.Callback());
    pump_ = std::make_unique<testing::ReadablePump>(
        fd, [this](bool hangup) { return !line_->OnReadable(hangup); });
    common::SpawnOptions options;
    options.argv = {kRelay, "/bin/sh", "-c", script};
    options.fds = {{pty_->slave(), 0}, {pty_->slave(), 1}};
    options.controlling_terminal = 0;
    absl::StatusOr<common::SpawnedChild> child = common::Spawn(options);
    ASSERT_TRUE(child.ok()) << child.status();
    relay_pid_ = child->pid;
  }

  void TearDown() override {
    pump_.reset();
    if (relay_pid_ > 0) {
      kill(relay_pid_, SIGKILL);
      waitpid(relay_pid_, nullptr, 0);
    }
    if (line_) line_->Close();
  }

  std::string TempPath(const std::string& name) {
    return absl::StrCat(getenv("TEST_TMPDIR"), "/", name);
  }

  Screen screen_;
  std::unique_ptr<Pty> pty_;
  std::unique_ptr<ConsoleLine> line_;
  std::unique_ptr<testing::ReadablePump> pump_;
  pid_t relay_pid_ = 0;
};

// Eight times the host's budget, in one write: every byte reaches the program, in order, and the
// relay's marks never show.
TEST_F(ClownixConsoleTest, APasteLargerThanTheBudgetArrivesWholeAndNoMarkShows) {
  const std::string file = TempPath("paste");
  std::string paste;
  for (int i = 0; paste.size() < 8 * ConsoleLine::kUnreadBudget; ++i) {
    absl::StrAppend(&paste, "line ", i, " of the paste\n");
  }
  StartWithKey(absl::StrCat("read -r first; stty raw -echo; echo ready; head -c ", paste.size(),
                            " >", file, "; echo done"));
  ASSERT_TRUE(screen_.WaitFor("ready"));
  absl::Status written = line_->Write(paste, absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(written.ok()) << written;
  ASSERT_TRUE(screen_.WaitFor("done"));
  EXPECT_EQ(common::ReadFile(file).value_or(""), paste);
  EXPECT_FALSE(absl::StrContains(screen_.Get(), "clownix-console")) << screen_.Get();
}

// The size the host sets on its side of the line reaches the program's terminal.
TEST_F(ClownixConsoleTest, TheWindowSizeReachesTheProgram) {
  StartWithKey("read -r first; stty raw -echo; echo ready; read -r go; stty size; echo end");
  ASSERT_TRUE(screen_.WaitFor("ready"));
  ASSERT_TRUE(line_->SetWindowSize(33, 99).ok());
  ASSERT_TRUE(line_->Write("go\n", absl::Now() + absl::Seconds(10)).ok());
  ASSERT_TRUE(screen_.WaitFor("end"));
  EXPECT_TRUE(absl::StrContains(screen_.Get(), "33 99")) << screen_.Get();
}

// Ctrl-C typed on the console interrupts the program: the relay passes keystrokes on raw and the
// program's own terminal turns them into signals.
TEST_F(ClownixConsoleTest, CtrlCInterruptsTheProgram) {
  StartWithKey(
      "read -r first; trap 'echo interrupted; exit 0' INT; echo ready; while :; do sleep 1; done");
  ASSERT_TRUE(screen_.WaitFor("ready"));
  ASSERT_TRUE(line_->Write("\x03", absl::Now() + absl::Seconds(10)).ok());
  EXPECT_TRUE(screen_.WaitFor("interrupted"));
}

// A console nobody types on runs no shell: the program starts at the first keystroke, which it
// then reads.
TEST_F(ClownixConsoleTest, TheProgramStartsAtTheFirstKeystroke) {
  Start("read -r key; echo \"got <$key>\"; read -r more");
  ASSERT_TRUE(screen_.WaitFor("Press Enter for a shell."));
  EXPECT_EQ(common::ReadFile(absl::StrCat("/proc/", relay_pid_, "/task/", relay_pid_, "/children"))
                .value_or("?"),
            "");
  ASSERT_TRUE(line_->Write("x\n", absl::Now() + absl::Seconds(10)).ok());
  EXPECT_TRUE(screen_.WaitFor("got <x>"));
}

// A line that hangs up does not leave the relay spinning on it: it ends (init starts another).
TEST_F(ClownixConsoleTest, TheRelayEndsWhenItsLineHangsUp) {
  Start("echo never started");
  ASSERT_TRUE(screen_.WaitFor("Press Enter for a shell."));
  pump_.reset();
  line_->Close();
  pty_.reset();  // The master's last close: the relay's side reads EIO.
  int status = 0;
  ASSERT_EQ(waitpid(relay_pid_, &status, 0), relay_pid_);
  relay_pid_ = 0;
  // The hang-up of its controlling terminal ends it (SIGHUP), as it ends a getty; had it been
  // ignored, the relay would see EIO and end by itself.
  EXPECT_TRUE((WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP) ||
              (WIFEXITED(status) && WEXITSTATUS(status) == 0))
      << status;
}

// When the program ends the relay ends too (init starts both again), after its last output.
TEST_F(ClownixConsoleTest, TheRelayEndsWithTheProgramAfterItsLastOutput) {
  Start("echo last words");
  ASSERT_TRUE(line_->Write("\n", absl::Now() + absl::Seconds(10)).ok());
  ASSERT_TRUE(screen_.WaitFor("last words"));
  int status = 0;
  ASSERT_EQ(waitpid(relay_pid_, &status, 0), relay_pid_);
  relay_pid_ = 0;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace clownix::vmm
