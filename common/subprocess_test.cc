#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_io.h"
#include "gtest/gtest.h"

namespace clownix::common {
namespace {

SpawnOptions Shell(const std::string& script) {
  SpawnOptions options;
  options.argv = {"sh", "-c", script};
  return options;
}

TEST(SubprocessTest, RunCollectsOutputAndStatus) {
  absl::StatusOr<RunResult> result = common::Run(Shell("echo out; echo err >&2; exit 3"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->output, "out\nerr\n");
  EXPECT_FALSE(result->succeeded());
  EXPECT_EQ(DescribeWaitStatus(result->wait_status), "exited with status 3");
}

TEST(SubprocessTest, RunCapsOutput) {
  absl::StatusOr<RunResult> result = common::Run(Shell("yes | head -c 100000"), 1000);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->output.size(), 1000u);
  EXPECT_TRUE(result->succeeded());
}

TEST(SubprocessTest, RunKillsAProgramPastItsTimeout) {
  // The program never ends on its own: only the timeout can end the call.
  absl::StatusOr<RunResult> result =
      common::Run(Shell("echo started; exec sleep 1000"), 1000, absl::Milliseconds(200));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
  EXPECT_NE(result.status().message().find("`sh -c echo started; exec sleep 1000` took longer"),
            std::string::npos);
}

TEST(SubprocessTest, RunDoesNotWaitForWhatTheProgramLeftBehind) {
  // The background sleep keeps the output pipe open after the shell exits.
  absl::StatusOr<RunResult> result =
      common::Run(Shell("sleep 1000 & echo $!; exit 0"), 1000, absl::Seconds(600));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->succeeded());
  int left_behind = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(result->output), &left_behind))
      << result->output;
  EXPECT_EQ(kill(left_behind, SIGKILL), 0);
}

TEST(SubprocessTest, RunCheckedNamesTheCommandAndItsOutput) {
  EXPECT_TRUE(RunChecked(Shell("true")).ok());
  absl::Status failed = RunChecked(Shell("echo broken >&2; exit 2"));
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(failed.message(), "`sh -c echo broken >&2; exit 2` exited with status 2: broken");
}

TEST(SubprocessTest, AMissingProgramIsAnErrorOfSpawn) {
  SpawnOptions options;
  options.argv = {"/nonexistent/program"};
  absl::StatusOr<SpawnedChild> child = Spawn(options);
  EXPECT_EQ(child.status().code(), absl::StatusCode::kNotFound) << child.status();
  options.argv = {"clownix-no-such-program-on-path"};
  EXPECT_EQ(Spawn(options).status().code(), absl::StatusCode::kNotFound);
  options.argv = {};
  EXPECT_EQ(Spawn(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SubprocessTest, OnlyListedDescriptorsCrossExec) {
  int leaked = open("/dev/null", O_RDONLY);  // Not close-on-exec, not listed.
  ASSERT_GE(leaked, 0);
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  SpawnOptions options = Shell("ls /proc/self/fd | sort -n | tr '\\n' ' '; echo through-fd-7 >&7");
  options.fds = {{pipe_fds[1], 7}};
  absl::StatusOr<RunResult> result = common::Run(options);
  close(pipe_fds[1]);
  close(leaked);
  ASSERT_TRUE(result.ok()) << result.status();
  // 0, 1, 2, 7, and the descriptor `ls` opened to read /proc/self/fd.
  EXPECT_EQ(result->output, "0 1 2 3 7 ");
  char buffer[64] = {};
  ASSERT_GT(read(pipe_fds[0], buffer, sizeof(buffer) - 1), 0);
  close(pipe_fds[0]);
  EXPECT_EQ(std::string(buffer), "through-fd-7\n");
}

TEST(SubprocessTest, DescriptorsMayBeSwapped) {
  int a[2], b[2];
  ASSERT_EQ(pipe(a), 0);
  ASSERT_EQ(pipe(b), 0);
  // a's write end becomes b's write end's number in the child and the other way round.
  SpawnOptions options =
      Shell("echo A >&" + std::to_string(b[1]) + "; echo B >&" + std::to_string(a[1]));
  options.fds = {{a[1], b[1]}, {b[1], a[1]}};
  absl::StatusOr<RunResult> result = common::Run(options);
  close(a[1]);
  close(b[1]);
  ASSERT_TRUE(result.ok()) << result.status();
  char buf_a[8] = {}, buf_b[8] = {};
  ASSERT_GT(read(a[0], buf_a, 7), 0);
  ASSERT_GT(read(b[0], buf_b, 7), 0);
  EXPECT_EQ(std::string(buf_a), "A\n");
  EXPECT_EQ(std::string(buf_b), "B\n");
  close(a[0]);
  close(b[0]);
}

TEST(SubprocessTest, EnvironmentAndProcessGroup) {
  SpawnOptions options = Shell("echo \"$ONLY\" \"${HOME:-unset}\"; cut -d' ' -f5 /proc/$$/stat");
  options.env = std::vector<std::string>{"ONLY=this", "PATH=/usr/bin:/bin"};
  options.new_process_group = true;
  absl::StatusOr<SpawnedChild> child = Spawn([&] {
    SpawnOptions o = options;
    o.output = SpawnOptions::Output::kPipe;
    return o;
  }());
  ASSERT_TRUE(child.ok()) << child.status();
  std::string output;
  char chunk[256];
  ssize_t n;
  while ((n = read(child->output.get(), chunk, sizeof(chunk))) > 0) output.append(chunk, n);
  ASSERT_TRUE(WaitForChild(child->pid).ok());
  EXPECT_EQ(output, "this unset\n" + std::to_string(child->pid) + "\n");
}

// What UML needs to follow its console's size (vmm/uml_launcher.cc): a session of its own with
// the pty as its controlling terminal and its group in the foreground.
TEST(SubprocessTest, AControllingTerminal) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(slave, 0);
  // Fields 6 and 8 of /proc/PID/stat: the session and the terminal's foreground process group.
  SpawnOptions options = Shell("cut -d' ' -f6,8 /proc/$$/stat");
  options.fds = {{slave, 5}};
  options.controlling_terminal = 5;
  options.output = SpawnOptions::Output::kPipe;
  absl::StatusOr<SpawnedChild> child = Spawn(options);
  close(slave);
  ASSERT_TRUE(child.ok()) << child.status();
  std::string output;
  char chunk[256];
  ssize_t n;
  while ((n = read(child->output.get(), chunk, sizeof(chunk))) > 0) output.append(chunk, n);
  ASSERT_TRUE(WaitForChild(child->pid).ok());
  close(master);
  EXPECT_EQ(output, absl::StrCat(child->pid, " ", child->pid, "\n"));
}

TEST(SubprocessTest, WorkingDirectory) {
  SpawnOptions options = Shell("pwd");
  options.working_dir = "/usr";
  absl::StatusOr<RunResult> result = common::Run(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->output, "/usr\n");
  options.working_dir = "/nonexistent-dir";
  EXPECT_EQ(common::Run(options).status().code(), absl::StatusCode::kNotFound);
}

TEST(SubprocessTest, AddressRandomizationCanBeTurnedOff) {
  // /proc/self/personality: the personality in hex; ADDR_NO_RANDOMIZE is 0x0040000.
  auto personality_of_child = [](bool fixed) -> unsigned long {
    SpawnOptions options = Shell("cat /proc/self/personality");
    options.no_address_randomization = fixed;
    absl::StatusOr<RunResult> result = common::Run(options);
    EXPECT_TRUE(result.ok() && result->succeeded()) << result.status();
    return result.ok() ? std::stoul(result->output, nullptr, 16) : ~0UL;
  };
  EXPECT_EQ(personality_of_child(false) & 0x0040000, 0u) << "on by default (as the parent has it)";
  EXPECT_EQ(personality_of_child(true) & 0x0040000, 0x0040000u);
}

TEST(SubprocessTest, PidfdTellsTheExit) {
  SpawnOptions options;
  options.argv = {"sleep", "1000"};
  absl::StatusOr<SpawnedChild> child = Spawn(options);
  ASSERT_TRUE(child.ok()) << child.status();
  pollfd pfd = {child->pidfd.get(), POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 0), 0) << "readable before it exited";
  ASSERT_EQ(kill(child->pid, SIGKILL), 0);
  ASSERT_EQ(poll(&pfd, 1, -1), 1);
  absl::StatusOr<int> status = WaitForChild(child->pid);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(DescribeWaitStatus(*status), "killed by signal 9 (Killed)");
}

TEST(SubprocessTest, OutputToAFileIsAppended) {
  char dir[] = "/tmp/clownix-subprocess-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string log = std::string(dir) + "/log";
  for (const char* word : {"one", "two"}) {
    SpawnOptions options = Shell(std::string("echo ") + word);
    options.output = SpawnOptions::Output::kFile;
    options.output_path = log;
    absl::StatusOr<SpawnedChild> child = Spawn(options);
    ASSERT_TRUE(child.ok()) << child.status();
    ASSERT_TRUE(WaitForChild(child->pid).ok());
  }
  EXPECT_EQ(*ReadFile(log), "one\ntwo\n");
  ASSERT_EQ(system((std::string("rm -rf ") + dir).c_str()), 0);
}

}  // namespace
}  // namespace clownix::common
