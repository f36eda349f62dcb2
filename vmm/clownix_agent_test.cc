// The guest agent (vmm/rootfs/guest/clownix_agent.cc), run on the host on a pty as a guest runs
// it on its ttyS1, driven by the host's own side of the protocol (AgentChannel, AgentProtocol).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"
#include "vmm/agent_channel.h"
#include "vmm/agent_protocol.h"
#include "vmm/pty.h"
#include "vmm/testing/line_peer.h"

namespace clownix::vmm {
namespace {

constexpr char kAgent[] = "vmm/rootfs/clownix_agent.bin";

// True once `predicate` holds, false if it still does not after `timeout`.
template <typename Predicate>
bool WaitUntil(Predicate predicate, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!predicate()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

// A process that has exited (a zombie no longer runs) or is gone.
bool Gone(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return true;
  const size_t close = line.rfind(')');
  return close == std::string::npos || line.substr(close + 2, 1) == "Z";
}

// The agent on a pty's slave (its "ttyS1"), the host's channel on the master.
class ClownixAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Pty> pty = Pty::Open();
    ASSERT_TRUE(pty.ok()) << pty.status();
    pty_ = std::make_unique<Pty>(std::move(*pty));
    common::SpawnOptions options;
    options.argv = {kAgent};
    options.fds = {{pty_->slave(), 0}, {pty_->slave(), 1}};
    options.new_process_group = true;
    absl::StatusOr<common::SpawnedChild> child = common::Spawn(options);
    ASSERT_TRUE(child.ok()) << child.status();
    agent_pid_ = child->pid;
  }

  // The host's side as vmm runs it: a channel, fed by an event loop stand-in.
  void StartChannel() {
    common::UniqueFd line(dup(pty_->master()));
    // Non-blocking, as vmm opens its end (AgentChannel reads until EAGAIN).
    ASSERT_EQ(fcntl(line.get(), F_SETFL, fcntl(line.get(), F_GETFL) | O_NONBLOCK), 0);
    channel_ = std::make_unique<AgentChannel>(std::move(line));
    pump_ = std::make_unique<testing::ReadablePump>(
        channel_->fd(), [this](bool hangup) { return !channel_->OnReadable(hangup).closed; });
  }

  void TearDown() override {
    pump_.reset();
    if (agent_pid_ > 0) {
      kill(-agent_pid_, SIGKILL);
      waitpid(agent_pid_, nullptr, 0);
    }
  }

  absl::StatusOr<AgentProtocol::Reply> Exec(const std::string& command, int timeout_s = 10,
                                            size_t cap = 4096) {
    if (!channel_) StartChannel();
    if (!channel_) return absl::InternalError("no channel");
    const std::string id = absl::StrCat("t", ++next_id_);
    absl::StatusOr<std::string> request = AgentProtocol::EncodeExec(id, command, timeout_s, cap);
    if (!request.ok()) return request.status();
    return channel_->Call(id, *request, absl::Now() + absl::Seconds(30));
  }

  std::unique_ptr<Pty> pty_;
  pid_t agent_pid_ = 0;
  std::unique_ptr<AgentChannel> channel_;
  std::unique_ptr<testing::ReadablePump> pump_;
  std::atomic<int> next_id_{0};  // Exec is called from several threads
};

TEST_F(ClownixAgentTest, SaysReadyThenAnswersAPingAfterNoise) {
  testing::LinePeer host(pty_->master());
  std::optional<std::string> ready = host.ReadLine(absl::Seconds(30));
  ASSERT_TRUE(ready.has_value());
  absl::StatusOr<AgentProtocol::Reply> parsed = AgentProtocol::ParseReply(*ready);
  ASSERT_TRUE(parsed.ok()) << *ready;
  EXPECT_EQ(parsed->kind, AgentProtocol::Reply::kReady);
  std::string boot_id;
  std::getline(std::ifstream("/proc/sys/kernel/random/boot_id"), boot_id);
  EXPECT_EQ(parsed->id, boot_id);
  // What a line may hold besides requests (noise, a request in two writes) is skipped or joined.
  const std::string first = "noise that is not a request\nQ ping", second = " p1\n";
  ASSERT_TRUE(host.Write(first));
  ASSERT_TRUE(host.Write(second));
  // Each read is acknowledged (flow control, agent_protocol.h) before what it held is acted on.
  uint64_t acknowledged = 0;
  std::optional<std::string> line;
  while ((line = host.ReadLine(absl::Seconds(30))) && absl::StartsWith(*line, "A read ")) {
    absl::StatusOr<AgentProtocol::Reply> read = AgentProtocol::ParseReply(*line);
    ASSERT_TRUE(read.ok()) << *line;
    acknowledged += read->bytes_read;
  }
  EXPECT_EQ(acknowledged, first.size() + second.size());
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "A pong p1");
}

TEST_F(ClownixAgentTest, ReportsStatusOutputAndTotal) {
  absl::StatusOr<AgentProtocol::Reply> r = Exec("echo out; echo err >&2; exit 3");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->output, "out\nerr\n");
  EXPECT_EQ(r->total_output_bytes, 8u);

  r = Exec("printf 0123456789", 10, 4);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "0123");
  EXPECT_EQ(r->total_output_bytes, 10u);

  r = Exec("kill -TERM $$");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);
}

TEST_F(ClownixAgentTest, RunsEachCommandInASessionOfItsOwnWithoutInput) {
  // Field 6 of /proc/PID/stat is the session; stdin is /dev/null, so read finds end of file.
  absl::StatusOr<AgentProtocol::Reply> r =
      Exec("echo $$ $(cut -d' ' -f6 /proc/$$/stat); read line; echo read=$?");
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<std::string> lines = absl::StrSplit(r->output, '\n');
  ASSERT_GE(lines.size(), 2u) << r->output;
  std::vector<std::string> ids = absl::StrSplit(lines[0], ' ');
  ASSERT_EQ(ids.size(), 2u) << r->output;
  EXPECT_EQ(ids[0], ids[1]) << "not a session leader: " << r->output;
  EXPECT_EQ(lines[1], "read=1");
}

TEST_F(ClownixAgentTest, TimeoutKillsTheWholeSession) {
  absl::StatusOr<AgentProtocol::Reply> r = Exec("sleep 300 & echo $!; sleep 301", 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->timed_out);
  int background = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(r->output), &background)) << r->output;
  EXPECT_TRUE(WaitUntil([&] { return Gone(background); }, absl::Seconds(20)))
      << "the background sleep " << background << " outlived the timeout";
}

TEST_F(ClownixAgentTest, AnswersWhileAnotherCommandStillRuns) {
  const std::string flag = absl::StrCat(::testing::TempDir(), "/go");
  std::remove(flag.c_str());  // none yet: the slow command waits for it
  StartChannel();
  std::thread slow_caller;
  absl::StatusOr<AgentProtocol::Reply> slow = absl::UnknownError("not answered");
  slow_caller = std::thread([&] {
    slow = Exec(absl::StrCat("while [ ! -e ", flag, " ]; do sleep 0.05; done; echo slow"));
  });
  absl::StatusOr<AgentProtocol::Reply> fast = Exec("echo fast");
  ASSERT_TRUE(fast.ok()) << fast.status();
  EXPECT_EQ(fast->output, "fast\n");
  std::ofstream(flag).put('\n');
  slow_caller.join();
  ASSERT_TRUE(slow.ok()) << slow.status();
  EXPECT_EQ(slow->output, "slow\n");
}

TEST_F(ClownixAgentTest, AMalformedExecIsAnsweredNotRun) {
  StartChannel();
  absl::StatusOr<AgentProtocol::Reply> r =
      channel_->Call("bad1", "Q exec bad1 5 100 !!notbase64!!\n", absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 126);
  EXPECT_NE(r->output.find("malformed"), std::string::npos) << r->output;
}

TEST_F(ClownixAgentTest, EndsWhenItsLineCloses) {
  pty_.reset();  // the host's side of the pty: the agent reads end of file or EIO
  int status = 0;
  ASSERT_TRUE(WaitUntil([&] { return waitpid(agent_pid_, &status, WNOHANG) == agent_pid_; },
                        absl::Seconds(20)))
      << "the agent still runs with its line closed";
  agent_pid_ = 0;
  EXPECT_TRUE(WIFEXITED(status)) << common::DescribeWaitStatus(status);
}

}  // namespace
}  // namespace clownix::vmm
