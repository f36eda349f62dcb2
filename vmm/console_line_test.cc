// ConsoleLine over a real pty pair: the test plays the VM on the master side.
#include "vmm/console_line.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/file_io.h"
#include "gtest/gtest.h"
#include "vmm/pty.h"
#include "vmm/testing/line_peer.h"

namespace clownix::vmm {
namespace {

using ::clownix::vmm::testing::LinePeer;
using ::clownix::vmm::testing::ReadablePump;

// What one subscriber has seen.
struct Seen {
  absl::Mutex mu;
  std::string bytes ABSL_GUARDED_BY(mu);
  int calls ABSL_GUARDED_BY(mu) = 0;

  ConsoleLine::Callback Callback() {
    return [this](absl::string_view b) {
      absl::MutexLock lock(&mu);
      bytes.append(b.data(), b.size());
      ++calls;
    };
  }
  bool WaitFor(absl::string_view text) {
    absl::MutexLock lock(&mu);
    auto has = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return absl::StrContains(bytes, text); };
    return mu.AwaitWithTimeout(absl::Condition(&has), absl::Seconds(10));
  }
  bool WaitForCalls(int n) {
    absl::MutexLock lock(&mu);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return calls >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }
  std::string Get() {
    absl::MutexLock lock(&mu);
    return bytes;
  }
};

class ConsoleLineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_path_ = absl::StrCat(getenv("TEST_TMPDIR"), "/console-", counter_++, ".log");
    absl::StatusOr<Pty> pty = Pty::Open();
    ASSERT_TRUE(pty.ok()) << pty.status();
    pty_ = std::make_unique<Pty>(std::move(*pty));
    line_ = std::make_unique<ConsoleLine>(log_path_);
    absl::StatusOr<common::UniqueFd> slave = Pty::OpenRawSlave(pty_->slave_path());
    ASSERT_TRUE(slave.ok()) << slave.status();
    const int fd = line_->Attach(std::move(*slave));
    ASSERT_GE(fd, 0);
    vm_ = std::make_unique<LinePeer>(pty_->master());
    pump_ = std::make_unique<ReadablePump>(fd, [this](bool hangup) {
      const bool closed = line_->OnReadable(hangup);
      if (closed) hung_up_.Notify();
      return !closed;
    });
  }
  void TearDown() override { pump_.reset(); }

  // A reboot, in two steps: the VM's line goes away, then the next boot's line (next_) is
  // attached and read as the first one was.
  void DetachLine() {
    pump_.reset();
    line_->Detach();
  }
  void AttachNextLine() {
    absl::StatusOr<Pty> next = Pty::Open();
    ASSERT_TRUE(next.ok()) << next.status();
    next_ = std::make_unique<Pty>(std::move(*next));
    absl::StatusOr<common::UniqueFd> slave = Pty::OpenRawSlave(next_->slave_path());
    ASSERT_TRUE(slave.ok()) << slave.status();
    const int fd = line_->Attach(std::move(*slave));
    ASSERT_GE(fd, 0);
    pump_ = std::make_unique<ReadablePump>(
        fd, [this](bool hangup) { return !line_->OnReadable(hangup); });
  }

  static inline int counter_ = 0;
  std::string log_path_;
  std::unique_ptr<Pty> pty_;
  std::unique_ptr<Pty> next_;  // AttachNextLine's
  std::unique_ptr<ConsoleLine> line_;
  std::unique_ptr<LinePeer> vm_;
  std::unique_ptr<ReadablePump> pump_;
  absl::Notification hung_up_;
};

TEST_F(ConsoleLineTest, LogsKeepsHistoryAndFeedsSubscribersInOrder) {
  Seen early;
  line_->Subscribe(1, early.Callback());
  ASSERT_TRUE(vm_->Write("boot 1\n"));
  ASSERT_TRUE(early.WaitFor("boot 1\n"));
  // A late subscriber gets the history first, then what follows.
  Seen late;
  line_->Subscribe(2, late.Callback());
  EXPECT_EQ(late.Get(), "boot 1\n");
  ASSERT_TRUE(vm_->Write("login: "));
  ASSERT_TRUE(late.WaitFor("login: "));
  EXPECT_EQ(late.Get(), "boot 1\nlogin: ");
  EXPECT_EQ(early.Get(), "boot 1\nlogin: ");
  EXPECT_EQ(common::ReadFile(log_path_).value_or(""), "boot 1\nlogin: ");
  line_->Unsubscribe(1);
  line_->Unsubscribe(2);
}

TEST_F(ConsoleLineTest, HistoryKeepsTheLast64KiB) {
  Seen all;
  line_->Subscribe(1, all.Callback());
  std::string big;
  for (int i = 0; big.size() < 100 * 1024; ++i) absl::StrAppend(&big, "line ", i, "\n");
  ASSERT_TRUE(vm_->Write(big + "END\n"));
  ASSERT_TRUE(all.WaitFor("END\n"));
  Seen late;
  line_->Subscribe(2, late.Callback());
  const std::string whole = big + "END\n";
  EXPECT_EQ(late.Get(), whole.substr(whole.size() - ConsoleLine::kHistoryBytes));
}

// A guest that prints without end fills neither memory nor the disk: console.log moves to
// console.log.1 at kMaxLogBytes, and the two hold the latest output.
TEST_F(ConsoleLineTest, TheLogIsBounded) {
  Seen all;
  line_->Subscribe(1, all.Callback());
  std::string flood;
  for (int i = 0; flood.size() < 3 * ConsoleLine::kMaxLogBytes; ++i) {
    absl::StrAppend(&flood, "flood ", i, std::string(1, '\0'), "\x01\xff\n");
  }
  ASSERT_TRUE(vm_->Write(flood + "END"));
  ASSERT_TRUE(all.WaitFor("END"));
  const std::string log = common::ReadFile(log_path_).value_or("");
  const std::string previous = common::ReadFile(log_path_ + ".1").value_or("");
  EXPECT_LE(log.size(), ConsoleLine::kMaxLogBytes);
  EXPECT_LE(previous.size(), ConsoleLine::kMaxLogBytes);
  EXPECT_GT(previous.size(), ConsoleLine::kMaxLogBytes / 2);
  EXPECT_TRUE(absl::EndsWith(flood + "END", previous + log));
  line_->Unsubscribe(1);
}

TEST_F(ConsoleLineTest, KeystrokesReachTheLine) {
  ASSERT_TRUE(line_->Write("echo hi\n", absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(vm_->ReadLine(), "echo hi");
  line_->Detach();
  EXPECT_EQ(line_->Write("x", absl::Now() + absl::Seconds(5)).code(),
            absl::StatusCode::kUnavailable);
}

// Flow control (console_flow.h): the guest's relay marks what it has read.
constexpr absl::string_view kStartMark = "\x1b_clownix-console start\x1b\\";
std::string ReadMark(size_t n) { return absl::StrCat("\x1b_clownix-console read ", n, "\x1b\\"); }

// Exactly `n` bytes from `fd` (a pty's master), or fewer if none come for 10 s.
std::string ReadBytes(int fd, size_t n) {
  std::string got;
  while (got.size() < n) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) break;
    char chunk[4096];
    ssize_t r = read(fd, chunk, std::min(sizeof(chunk), n - got.size()));
    if (r <= 0) break;
    got.append(chunk, static_cast<size_t>(r));
  }
  return got;
}

// What a pty's master has ready now (without waiting).
size_t Pending(int fd) {
  int n = 0;
  EXPECT_EQ(ioctl(fd, FIONREAD, &n), 0);
  return static_cast<size_t>(n);
}

TEST_F(ConsoleLineTest, TheRelaysMarksAreNotShownEvenWhenCutInTwo) {
  Seen all;
  line_->Subscribe(1, all.Callback());
  ASSERT_TRUE(vm_->Write(absl::StrCat("a", kStartMark, "b\x1b_clownix-con")));
  ASSERT_TRUE(all.WaitFor("b"));
  ASSERT_TRUE(vm_->Write("sole read 5\x1b\\c\x1b[0m\x1b_other\x1b\\END"));
  ASSERT_TRUE(all.WaitFor("END"));
  const std::string shown = "abc\x1b[0m\x1b_other\x1b\\END";
  EXPECT_EQ(all.Get(), shown);
  EXPECT_EQ(common::ReadFile(log_path_).value_or(""), shown);
  Seen late;
  line_->Subscribe(2, late.Callback());
  EXPECT_EQ(late.Get(), shown);
  line_->Unsubscribe(1);
  line_->Unsubscribe(2);
}

TEST_F(ConsoleLineTest, WithoutTheRelaysStartMarkWritesAreNotHeldBack) {
  const std::string paste(2 * ConsoleLine::kUnreadBudget, 'k');
  ASSERT_TRUE(line_->Write(paste, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(ReadBytes(pty_->master(), paste.size()), paste);
}

// The paste that used to freeze a VM's console for good: once the relay has started, at most
// kUnreadBudget bytes are written before it acknowledges them; the rest follows its marks.
TEST_F(ConsoleLineTest, OnceTheRelayStartedAtMostTheBudgetIsUnacknowledged) {
  Seen all;
  line_->Subscribe(1, all.Callback());
  ASSERT_TRUE(vm_->Write(absl::StrCat(kStartMark, "$ ")));
  ASSERT_TRUE(all.WaitFor("$ "));

  std::string paste;
  for (int i = 0; paste.size() < 3 * ConsoleLine::kUnreadBudget; ++i) {
    absl::StrAppend(&paste, "line ", i, "\n");
  }
  // Nothing acknowledged: the write gives up at its deadline with the budget written, no more.
  absl::Status gave_up = line_->Write(paste, absl::Now() + absl::Milliseconds(300));
  EXPECT_EQ(gave_up.code(), absl::StatusCode::kDeadlineExceeded) << gave_up;
  EXPECT_EQ(Pending(pty_->master()), ConsoleLine::kUnreadBudget);
  EXPECT_EQ(ReadBytes(pty_->master(), ConsoleLine::kUnreadBudget),
            paste.substr(0, ConsoleLine::kUnreadBudget));

  // The relay reads in pieces and says so; a waiting write goes on after each mark.
  ASSERT_TRUE(vm_->Write(ReadMark(ConsoleLine::kUnreadBudget)));
  absl::Status whole;
  std::thread writer([&] { whole = line_->Write(paste, absl::Now() + absl::Seconds(20)); });
  std::string read;
  while (read.size() < paste.size()) {
    std::string piece =
        ReadBytes(pty_->master(), std::min<size_t>(1000, paste.size() - read.size()));
    ASSERT_FALSE(piece.empty()) << "stalled after " << read.size() << " bytes";
    read += piece;
    ASSERT_TRUE(vm_->Write(ReadMark(piece.size())));
  }
  writer.join();
  EXPECT_TRUE(whole.ok()) << whole;
  EXPECT_EQ(read, paste);
  EXPECT_EQ(all.Get(), "$ ");
  line_->Unsubscribe(1);
}

// A relay that was running before the line was attached (clownixd restarted and adopted the VM)
// sends no start mark: its first acknowledgement turns flow control on, counting what was written
// since the line was attached.
TEST_F(ConsoleLineTest, AnAcknowledgementAloneTurnsFlowControlOn) {
  Seen all;
  line_->Subscribe(1, all.Callback());
  ASSERT_TRUE(line_->Write("ls\n", absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(ReadBytes(pty_->master(), 3), "ls\n");
  ASSERT_TRUE(vm_->Write(absl::StrCat(ReadMark(1), "$ ")));
  ASSERT_TRUE(all.WaitFor("$ "));
  // Two of the three bytes are still unacknowledged.
  const std::string paste(2 * ConsoleLine::kUnreadBudget, 'k');
  absl::Status gave_up = line_->Write(paste, absl::Now() + absl::Milliseconds(300));
  EXPECT_EQ(gave_up.code(), absl::StatusCode::kDeadlineExceeded) << gave_up;
  EXPECT_EQ(Pending(pty_->master()), ConsoleLine::kUnreadBudget - 2);
  line_->Unsubscribe(1);
}

// A write the line did not take by its deadline counts only what it wrote: the rest will never be
// acknowledged, and counted it would shrink the budget for good (here an adopted VM's relay,
// already running, which sends no start mark). The line is a socket pair, whose FIONREAD says
// exactly what was written (a pty holds some of it in buffers FIONREAD does not count).
TEST_F(ConsoleLineTest, WhatTheLineDidNotTakeIsNotCounted) {
  DetachLine();
  int sides[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sides), 0);
  common::UniqueFd vm_side(sides[1]);
  const int fd = line_->Attach(common::UniqueFd(sides[0]));
  ASSERT_GE(fd, 0);
  pump_ = std::make_unique<ReadablePump>(
      fd, [this](bool hangup) { return !line_->OnReadable(hangup); });
  Seen all;
  line_->Subscribe(1, all.Callback());

  const std::string paste(4 << 20, 'k');  // more than the socket's buffers hold
  absl::Status gave_up = line_->Write(paste, absl::Now() + absl::Milliseconds(300));
  EXPECT_EQ(gave_up.code(), absl::StatusCode::kDeadlineExceeded) << gave_up;
  const size_t written = Pending(vm_side.get());
  ASSERT_GT(written, 0u);
  ASSERT_LT(written, paste.size());
  EXPECT_EQ(ReadBytes(vm_side.get(), written), paste.substr(0, written));

  // The relay acknowledges all it read: nothing is left unacknowledged, the next keystroke goes.
  LinePeer vm(vm_side.get());
  ASSERT_TRUE(vm.Write(absl::StrCat(ReadMark(written), "$ ")));
  ASSERT_TRUE(all.WaitFor("$ "));
  absl::Status next = line_->Write("x", absl::Now() + absl::Seconds(5));
  EXPECT_TRUE(next.ok()) << next;
  EXPECT_EQ(ReadBytes(vm_side.get(), 1), "x");
  line_->Unsubscribe(1);
}

// A rebooted VM's line starts without flow control, until its own relay's start mark.
TEST_F(ConsoleLineTest, ALineAttachedLaterStartsWithoutFlowControl) {
  Seen all;
  line_->Subscribe(1, all.Callback());
  ASSERT_TRUE(vm_->Write(absl::StrCat(kStartMark, "$ ")));
  ASSERT_TRUE(all.WaitFor("$ "));
  DetachLine();
  ASSERT_NO_FATAL_FAILURE(AttachNextLine());
  const std::string paste(2 * ConsoleLine::kUnreadBudget, 'k');
  ASSERT_TRUE(line_->Write(paste, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(ReadBytes(next_->master(), paste.size()), paste);
  line_->Unsubscribe(1);
}

TEST_F(ConsoleLineTest, AMarkCutOffByTheOldLineIsNotJoinedToTheNextLinesOutput) {
  Seen all;
  line_->Subscribe(1, all.Callback());
  // The old boot's last output ends in what could still become a mark: held back.
  ASSERT_TRUE(vm_->Write("old\x1b_clownix-console rea"));
  ASSERT_TRUE(all.WaitFor("old"));
  DetachLine();
  ASSERT_NO_FATAL_FAILURE(AttachNextLine());
  // Joined to the held bytes this would complete the old mark (and hide "d 5\x1b\\").
  LinePeer vm(next_->master());
  ASSERT_TRUE(vm.Write("d 5\x1b\\new\n"));
  ASSERT_TRUE(all.WaitFor("new\n"));
  EXPECT_EQ(all.Get(), "oldd 5\x1b\\new\n");
  line_->Unsubscribe(1);
}

// The VM (UML) reads the size from its side of the pty (TIOCGWINSZ on the master).
TEST_F(ConsoleLineTest, TheWindowSizeReachesTheVmsSideAndALineAttachedLater) {
  auto vm_side_size = [](int fd) {
    struct winsize size = {};
    EXPECT_EQ(ioctl(fd, TIOCGWINSZ, &size), 0);
    return std::make_pair(size.ws_row, size.ws_col);
  };
  ASSERT_TRUE(line_->SetWindowSize(40, 132).ok());
  EXPECT_EQ(vm_side_size(pty_->master()), std::make_pair(uint16_t{40}, uint16_t{132}));

  // Detached (a rebooting VM): the size is kept and set on the next line.
  DetachLine();
  ASSERT_TRUE(line_->SetWindowSize(24, 100).ok());
  ASSERT_NO_FATAL_FAILURE(AttachNextLine());
  EXPECT_EQ(vm_side_size(next_->master()), std::make_pair(uint16_t{24}, uint16_t{100}));
}

// The use-after-free the subscription contract rules out: when Unsubscribe returns, a callback
// that was running has finished and no further call comes, so its state may be destroyed.
TEST_F(ConsoleLineTest, UnsubscribeWaitsForARunningCallbackAndNoCallFollows) {
  struct Blocking {
    absl::Mutex mu;
    bool in_call ABSL_GUARDED_BY(mu) = false;
    bool release ABSL_GUARDED_BY(mu) = false;
    bool unsubscribe_returned ABSL_GUARDED_BY(mu) = false;
    bool in_call_when_returned ABSL_GUARDED_BY(mu) = false;
    int calls_after_return ABSL_GUARDED_BY(mu) = 0;
  };
  auto state = std::make_unique<Blocking>();
  Blocking* s = state.get();
  line_->Subscribe(1, [s](absl::string_view) {
    absl::MutexLock lock(&s->mu);
    if (s->unsubscribe_returned) ++s->calls_after_return;
    s->in_call = true;
    auto released = [s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return s->release; };
    s->mu.Await(absl::Condition(&released));
    s->in_call = false;
  });
  Seen witness;  // Called after subscriber 1 in every delivery.
  line_->Subscribe(2, witness.Callback());

  ASSERT_TRUE(vm_->Write("first\n"));
  {
    absl::MutexLock lock(&s->mu);
    auto in_call = [s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return s->in_call; };
    ASSERT_TRUE(s->mu.AwaitWithTimeout(absl::Condition(&in_call), absl::Seconds(10)));
  }
  std::thread unsubscriber([&] {
    line_->Unsubscribe(1);
    absl::MutexLock lock(&s->mu);
    s->unsubscribe_returned = true;
    s->in_call_when_returned = s->in_call;
  });
  {
    // The callback is blocked. A correct Unsubscribe cannot return now; a broken one returns at
    // once. This wait gives a broken one the time to show (it ends at the deadline when all is
    // well: nothing here depends on how long it takes).
    absl::MutexLock lock(&s->mu);
    auto returned = [s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return s->unsubscribe_returned; };
    EXPECT_FALSE(s->mu.AwaitWithTimeout(absl::Condition(&returned), absl::Milliseconds(200)))
        << "Unsubscribe returned while its callback was running";
    s->release = true;
  }
  unsubscriber.join();
  {
    absl::MutexLock lock(&s->mu);
    EXPECT_FALSE(s->in_call_when_returned);
  }
  // No call after the return: the witness sees the next chunk, which subscriber 1 would have
  // been handed first.
  ASSERT_TRUE(vm_->Write("second\n"));
  ASSERT_TRUE(witness.WaitFor("second\n"));
  {
    absl::MutexLock lock(&s->mu);
    EXPECT_EQ(s->calls_after_return, 0);
  }
  state.reset();  // Safe now: nothing refers to it any more.
  ASSERT_TRUE(vm_->Write("third\n"));
  ASSERT_TRUE(witness.WaitFor("third\n"));
  line_->Unsubscribe(2);
}

TEST_F(ConsoleLineTest, UnsubscribingFromInsideTheCallbackDoesNotDeadlock) {
  std::atomic<int> calls{0};
  line_->Subscribe(1, [&](absl::string_view) {
    ++calls;
    line_->Unsubscribe(1);
  });
  Seen witness;
  line_->Subscribe(2, witness.Callback());
  ASSERT_TRUE(vm_->Write("one\n"));
  ASSERT_TRUE(witness.WaitFor("one\n"));
  ASSERT_TRUE(vm_->Write("two\n"));
  ASSERT_TRUE(witness.WaitFor("two\n"));
  EXPECT_EQ(calls.load(), 1);
  line_->Unsubscribe(2);
}

TEST_F(ConsoleLineTest, UnsubscribeRacingDeliveriesNeverSeesALateCall) {
  // Many subscribe/unsubscribe rounds against a steady stream of output.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) {
      if (!vm_->Write("tick\n")) return;
    }
  });
  for (int round = 0; round < 200; ++round) {
    std::atomic<bool> done{false};
    std::atomic<int> late{0};
    line_->Subscribe(100 + round, [&](absl::string_view) {
      if (done.load()) ++late;
    });
    line_->Unsubscribe(100 + round);
    done = true;
    // Anything after `done` would be a call after Unsubscribe returned. The witness's second
    // call (the first is the history) comes from a delivery that started after it.
    Seen witness;
    line_->Subscribe(1000 + round, witness.Callback());
    ASSERT_TRUE(witness.WaitForCalls(2));
    line_->Unsubscribe(1000 + round);
    EXPECT_EQ(late.load(), 0) << round;
  }
  stop = true;
  writer.join();  // The pump keeps draining the line meanwhile.
}

TEST_F(ConsoleLineTest, CloseEndsSubscriptionsAndLaterOnesGetTheHistoryOnly) {
  Seen seen;
  line_->Subscribe(1, seen.Callback());
  ASSERT_TRUE(vm_->Write("last words\n"));
  ASSERT_TRUE(seen.WaitFor("last words\n"));
  pump_.reset();
  line_->Close();
  Seen after;
  line_->Subscribe(2, after.Callback());
  EXPECT_EQ(after.Get(), "last words\n");
  EXPECT_EQ(line_->fd(), -1);
  line_->Unsubscribe(2);  // Unknown now: ignored.
}

TEST_F(ConsoleLineTest, AHangUpIsReported) {
  pty_.reset();  // Closes the master: the VM's side is gone.
  EXPECT_TRUE(hung_up_.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

}  // namespace
}  // namespace clownix::vmm
