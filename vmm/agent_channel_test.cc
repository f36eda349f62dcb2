// AgentChannel over a real pty pair: the test plays the guest's agent on the master side.
#include "vmm/agent_channel.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "vmm/pty.h"
#include "vmm/testing/line_peer.h"

namespace clownix::vmm {
namespace {

using ::clownix::vmm::testing::LinePeer;
using ::clownix::vmm::testing::ReadablePump;

// A channel on a pty's slave, the guest on its master, and an event loop stand-in that feeds the
// channel and records what it reports.
class AgentChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Pty> pty = Pty::Open();
    ASSERT_TRUE(pty.ok()) << pty.status();
    pty_ = std::make_unique<Pty>(std::move(*pty));
    absl::StatusOr<common::UniqueFd> line = Pty::OpenRawSlave(pty_->slave_path());
    ASSERT_TRUE(line.ok()) << line.status();
    channel_ = std::make_unique<AgentChannel>(std::move(*line));
    guest_ = std::make_unique<LinePeer>(pty_->master());
    pump_ = std::make_unique<ReadablePump>(channel_->fd(), [this](bool hangup) {
      AgentChannel::ReadResult r = channel_->OnReadable(hangup);
      absl::MutexLock lock(&mu_);
      pongs_ += r.ping_answered ? 1 : 0;
      if (r.ready_lpj > 0) lpj_ = r.ready_lpj;
      closed_ |= r.closed;
      return !r.closed;
    });
  }
  void TearDown() override { pump_.reset(); }

  // Reads one "Q exec ID ..." request; returns its id.
  std::string ReadExecId() {
    std::optional<std::string> line = guest_->ReadLine();
    EXPECT_TRUE(line.has_value());
    if (!line) return "";
    std::vector<std::string> f = absl::StrSplit(*line, ' ');
    EXPECT_GE(f.size(), 3u) << *line;
    EXPECT_EQ(f[0], "Q");
    EXPECT_EQ(f[1], "exec");
    return f.size() >= 3 ? f[2] : "";
  }
  static std::string ExecReply(const std::string& id, int rc, const std::string& output) {
    return absl::StrCat("A exec ", id, " ", rc, " ", output.size(), " ", absl::Base64Escape(output),
                        "\n");
  }
  static std::string Request(const std::string& id, const std::string& command) {
    return *AgentProtocol::EncodeExec(id, command, 5, 1024);
  }

  std::unique_ptr<Pty> pty_;
  std::unique_ptr<AgentChannel> channel_;
  std::unique_ptr<LinePeer> guest_;
  std::unique_ptr<ReadablePump> pump_;
  absl::Mutex mu_;
  int pongs_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t lpj_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

TEST_F(AgentChannelTest, RepliesReachTheCallerOfTheirIdInAnyOrder) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::StatusOr<AgentProtocol::Reply> first, second;
  std::thread a([&] { first = channel_->Call("r.1", Request("r.1", "one"), deadline); });
  std::string id1 = ReadExecId();
  std::thread b([&] { second = channel_->Call("r.2", Request("r.2", "two"), deadline); });
  std::string id2 = ReadExecId();
  ASSERT_EQ(id1, "r.1");
  ASSERT_EQ(id2, "r.2");
  // Noise, a reply nobody waits for, then the answers in reverse order, the first one split
  // across writes.
  const std::string reply2 = ExecReply("r.2", 2, "second\n");
  ASSERT_TRUE(guest_->Write("login: \x1b[0m\nA exec r.9 0 0 \n"));
  ASSERT_TRUE(guest_->Write(reply2.substr(0, 7)));
  ASSERT_TRUE(guest_->Write(reply2.substr(7) + ExecReply("r.1", 0, "first\n")));
  a.join();
  b.join();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->exit_code, 0);
  EXPECT_EQ(first->output, "first\n");
  EXPECT_EQ(second->exit_code, 2);
  EXPECT_EQ(second->output, "second\n");
}

TEST_F(AgentChannelTest, OnlyThePongToTheLatestPingCounts) {
  ASSERT_TRUE(channel_->Ping("p.1").ok());
  EXPECT_EQ(guest_->ReadLine(), "Q ping p.1");
  ASSERT_TRUE(channel_->Ping("p.2").ok());
  EXPECT_EQ(guest_->ReadLine(), "Q ping p.2");
  ASSERT_TRUE(guest_->Write("A pong p.1\nA ready boot-7 4242\n"));
  {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return lpj_ != 0; };
    ASSERT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(10)));
    EXPECT_EQ(lpj_, 4242);
    EXPECT_EQ(pongs_, 0);  // p.1's pong came before the ready line: already read.
  }
  ASSERT_TRUE(guest_->Write("A pong p.2\n"));
  absl::MutexLock lock(&mu_);
  auto answered = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pongs_ == 1; };
  EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&answered), absl::Seconds(10)));
}

TEST_F(AgentChannelTest, CloseFailsWaitingAndLaterCalls) {
  absl::StatusOr<AgentProtocol::Reply> reply;
  std::thread caller(
      [&] { reply = channel_->Call("c.1", Request("c.1", "x"), absl::Now() + absl::Seconds(60)); });
  ReadExecId();  // The request is out: the caller is waiting.
  channel_->Close(absl::UnavailableError("rebooted"));
  caller.join();
  EXPECT_EQ(reply.status(), absl::UnavailableError("rebooted"));
  EXPECT_EQ(channel_->Call("c.2", Request("c.2", "y"), absl::Now() + absl::Seconds(60)).status(),
            absl::UnavailableError("rebooted"));
  EXPECT_EQ(channel_->Send(Request("c.3", "z"), absl::Now()).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_FALSE(channel_->Ping("c.4").ok());
  channel_->Close(absl::UnavailableError("again"));  // The first reason stays.
  EXPECT_EQ(channel_->Send("x", absl::Now()), absl::UnavailableError("rebooted"));
}

// What async calls got, in the order their callbacks ran.
struct AsyncResults {
  absl::Mutex mu;
  std::vector<std::pair<std::string, absl::StatusOr<AgentProtocol::Reply>>> got ABSL_GUARDED_BY(mu);

  AgentChannel::Done For(const std::string& id) {
    return [this, id](absl::StatusOr<AgentProtocol::Reply> reply) {
      absl::MutexLock lock(&mu);
      got.emplace_back(id, std::move(reply));
    };
  }
  bool WaitFor(size_t n) {
    absl::MutexLock lock(&mu);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return got.size() >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(30));
  }
};

TEST_F(AgentChannelTest, AsyncCallsGetTheirRepliesWithoutAWaitingThread) {
  AsyncResults results;
  channel_->CallAsync("a.1", Request("a.1", "one"), absl::Now() + absl::Seconds(10),
                      results.For("a.1"));
  channel_->CallAsync("a.2", Request("a.2", "two"), absl::Now() + absl::Seconds(10),
                      results.For("a.2"));
  EXPECT_EQ(ReadExecId(), "a.1");
  EXPECT_EQ(ReadExecId(), "a.2");
  ASSERT_TRUE(guest_->Write(ExecReply("a.2", 3, "second") + ExecReply("a.1", 0, "first")));
  ASSERT_TRUE(results.WaitFor(2));
  absl::MutexLock lock(&results.mu);
  ASSERT_EQ(results.got[0].first, "a.2");
  ASSERT_TRUE(results.got[0].second.ok());
  EXPECT_EQ(results.got[0].second->exit_code, 3);
  EXPECT_EQ(results.got[1].first, "a.1");
  EXPECT_EQ(results.got[1].second->output, "first");
}

TEST_F(AgentChannelTest, CloseAndDestructionFailAsyncCallsOnce) {
  AsyncResults results;
  channel_->CallAsync("b.1", Request("b.1", "x"), absl::Now() + absl::Seconds(10),
                      results.For("b.1"));
  ReadExecId();
  channel_->Close(absl::UnavailableError("rebooted"));
  // A call after the close fails at once, on the calling thread.
  channel_->CallAsync("b.2", Request("b.2", "y"), absl::Now() + absl::Seconds(10),
                      results.For("b.2"));
  ASSERT_TRUE(results.WaitFor(2));
  {
    absl::MutexLock lock(&results.mu);
    EXPECT_EQ(results.got[0].second.status(), absl::UnavailableError("rebooted"));
    EXPECT_EQ(results.got[1].second.status(), absl::UnavailableError("rebooted"));
  }
  // A late reply to b.1 is noise now: its callback ran already.
  ASSERT_TRUE(guest_->Write(ExecReply("b.1", 0, "late")));

  // A channel destroyed with an async call in flight tells it so (and leaks nothing: ASan/TSAN).
  pump_.reset();
  absl::StatusOr<common::UniqueFd> line = Pty::OpenRawSlave(pty_->slave_path());
  ASSERT_TRUE(line.ok());
  auto other = std::make_unique<AgentChannel>(std::move(*line));
  other->CallAsync("b.3", Request("b.3", "z"), absl::Now() + absl::Seconds(10), results.For("b.3"));
  other.reset();
  ASSERT_TRUE(results.WaitFor(3));
  absl::MutexLock lock(&results.mu);
  EXPECT_EQ(results.got.size(), 3u);
  EXPECT_EQ(results.got[2].second.status().code(), absl::StatusCode::kCancelled);
}

TEST_F(AgentChannelTest, NoReplyByTheDeadlineIsDeadlineExceeded) {
  absl::StatusOr<AgentProtocol::Reply> reply =
      channel_->Call("d.1", Request("d.1", "x"), absl::Now() + absl::Milliseconds(50));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded);
  // A late reply is dropped, not handed to the next caller.
  ReadExecId();
  ASSERT_TRUE(guest_->Write(ExecReply("d.1", 0, "late")));
  std::thread next(
      [&] { reply = channel_->Call("d.2", Request("d.2", "y"), absl::Now() + absl::Seconds(30)); });
  EXPECT_EQ(ReadExecId(), "d.2");
  ASSERT_TRUE(guest_->Write(ExecReply("d.2", 0, "on time")));
  next.join();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->output, "on time");
}

// A reply that names a waiting call but does not parse fails that call at once, not at its
// deadline; garbage that names no call is skipped.
TEST_F(AgentChannelTest, AMalformedReplyFailsItsCallAtOnce) {
  absl::StatusOr<AgentProtocol::Reply> reply;
  std::thread caller(
      [&] { reply = channel_->Call("m.1", Request("m.1", "x"), absl::Now() + absl::Hours(1)); });
  ASSERT_EQ(ReadExecId(), "m.1");
  ASSERT_TRUE(guest_->Write("A exec m.2 0 0 !!\nA exec m.1 0 3 not-base64!\n"));
  caller.join();
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInternal) << reply.status();
  EXPECT_TRUE(absl::StrContains(reply.status().message(), "malformed")) << reply.status();
  // The channel goes on: the next call gets its reply.
  std::thread next(
      [&] { reply = channel_->Call("m.3", Request("m.3", "y"), absl::Now() + absl::Hours(1)); });
  ASSERT_EQ(ReadExecId(), "m.3");
  ASSERT_TRUE(guest_->Write(ExecReply("m.3", 0, "fine")));
  next.join();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->output, "fine");
}

// Garbage without a newline, longer than any reply, is dropped; a reply after it still arrives.
TEST_F(AgentChannelTest, AnEndlessLineIsDroppedAndRepliesStillArrive) {
  absl::StatusOr<AgentProtocol::Reply> reply;
  std::thread caller(
      [&] { reply = channel_->Call("e.1", Request("e.1", "x"), absl::Now() + absl::Hours(1)); });
  ASSERT_EQ(ReadExecId(), "e.1");
  const std::string junk(64 * 1024, 'A');
  for (size_t sent = 0; sent <= AgentChannel::kMaxLineBytes; sent += junk.size()) {
    ASSERT_TRUE(guest_->Write(junk));
  }
  ASSERT_TRUE(guest_->Write(std::string("\0\xff\0", 3) + "\n" + ExecReply("e.1", 7, "out")));
  caller.join();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->exit_code, 7);
  EXPECT_EQ(reply->output, "out");
}

// One OnReadable reads at most kMaxReadBytes, so a guest that never stops writing cannot hold the
// event loop; the rest stays readable for the next call.
TEST(AgentChannelFloodTest, OneReadIsBounded) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  common::UniqueFd read_end(fds[0]), write_end(fds[1]);
  const int capacity = fcntl(write_end.get(), F_SETPIPE_SZ, 1024 * 1024);
  if (capacity < static_cast<int>(2 * AgentChannel::kMaxReadBytes)) {
    GTEST_SKIP() << "pipes cannot hold 2 * kMaxReadBytes here (fs.pipe-max-size)";
  }
  AgentChannel channel(std::move(read_end));
  const std::string flood = std::string(1023, 'x') + "\n";
  for (size_t sent = 0; sent < 2 * AgentChannel::kMaxReadBytes; sent += flood.size()) {
    ASSERT_EQ(write(write_end.get(), flood.data(), flood.size()),
              static_cast<ssize_t>(flood.size()));
  }
  AgentChannel::ReadResult read = channel.OnReadable(false);
  EXPECT_FALSE(read.closed);
  pollfd p = {channel.fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 1);  // Bytes are left for the next wake-up.
  while (poll(&p, 1, 0) == 1 && !(p.revents & POLLHUP)) {
    EXPECT_FALSE(channel.OnReadable(false).closed);
  }
  write_end.reset();
  EXPECT_TRUE(channel.OnReadable(true).closed);
}

TEST_F(AgentChannelTest, OnceTheAgentAcknowledgesReadsAtMostTheBudgetStaysUnread) {
  const std::string command(1400, 'x');  // a request of about 1.9 KB: two do not fit the budget
  auto call = [this, &command](const std::string& id, absl::Duration timeout) {
    return channel_->Call(id, Request(id, command), absl::Now() + timeout);
  };
  ASSERT_GT(2 * Request("r.1", command).size(), AgentChannel::kLineBudget);
  // An agent that acknowledges nothing (older than flow control) gets requests as they come.
  absl::StatusOr<AgentProtocol::Reply> first, second, third;
  std::thread a([&] { first = call("r.1", absl::Seconds(30)); });
  std::thread b([&] { second = call("r.2", absl::Seconds(30)); });
  std::set<std::string> ids = {ReadExecId(), ReadExecId()};
  EXPECT_EQ(ids, (std::set<std::string>{"r.1", "r.2"}));
  // Its first acknowledgement comes before the replies: once both calls have returned, the channel
  // has read it too (one reader, in order), so flow control is on for what follows.
  ASSERT_TRUE(guest_->Write("A read 1\n" + ExecReply("r.1", 0, "") + ExecReply("r.2", 0, "")));
  a.join();
  b.join();
  ASSERT_TRUE(first.ok() && second.ok()) << first.status() << second.status();

  // Now a request waits while the last one is unread, and gives up at its deadline without being
  // written.
  std::thread c([&] { first = call("r.3", absl::Seconds(30)); });
  EXPECT_EQ(ReadExecId(), "r.3");
  second = call("r.4", absl::Milliseconds(300));
  EXPECT_TRUE(absl::IsDeadlineExceeded(second.status())) << second.status();
  EXPECT_TRUE(absl::StrContains(second.status().message(), "has not read")) << second.status();
  // Read now: the next request goes out (r.4 never did).
  ASSERT_TRUE(guest_->Write(absl::StrCat("A read ", Request("r.3", command).size(), "\n")));
  std::thread d([&] { third = call("r.5", absl::Seconds(30)); });
  EXPECT_EQ(ReadExecId(), "r.5");
  ASSERT_TRUE(guest_->Write(ExecReply("r.3", 0, "") + ExecReply("r.5", 5, "")));
  c.join();
  d.join();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->exit_code, 5);
}

TEST_F(AgentChannelTest, AHangUpIsReported) {
  pty_.reset();  // Closes the master: the guest's side is gone.
  absl::MutexLock lock(&mu_);
  auto closed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_; };
  EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&closed), absl::Seconds(10)));
}

}  // namespace
}  // namespace clownix::vmm
