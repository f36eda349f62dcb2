// ConsoleLine: one VM's console (con0) on the host: a copy of what it prints in console.log, the
// recent history, the subscribers that watch it, and the keystrokes written to it.
//
// Bounded whatever the guest prints: the history keeps the last kHistoryBytes, and console.log
// moves to console.log.1 (replacing it) once it reaches kMaxLogBytes, so a VM's console takes at
// most 2 * kMaxLogBytes of disk.
//
// How it works. The line itself (a pty slave, pty.h) comes and goes: Attach gives one, Detach
// drops it (the VM's side hung up; a reboot or a restarted agent attaches it again); history and
// subscribers stay for the VM's life. The event loop calls OnReadable; it reads the line, appends
// to the log and the history, and calls the subscribers with no lock of the line held.
//
// Subscriber calls. Each subscriber has its own mutex, held while it is called. Subscribe holds it
// while it delivers the history, so the first new chunk waits for the history to be delivered;
// Unsubscribe takes it after marking the subscriber gone, so when Unsubscribe returns the callback
// is not running and never runs again. The one exception: Unsubscribe (or Close) called from
// inside that subscriber's own callback does not wait (it would wait for itself); the callback
// is not called again once it returns.
#ifndef CLOWNIX_VMM_CONSOLE_LINE_H_
#define CLOWNIX_VMM_CONSOLE_LINE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "vmm/console_flow.h"

namespace clownix::vmm {

// Flow control (console_flow.h). Once the guest's console relay has shown it reads the line (any
// of its marks), Write keeps at most kUnreadBudget bytes written and not yet acknowledged, waiting
// for the relay's acknowledgements (read by OnReadable) before it writes more; the marks are taken
// out of what is logged, kept and delivered. A line attached later (a reboot, or a clownixd that
// adopts a running VM) starts without flow control until the relay's next mark: after an
// adoption, the first keystrokes written are not held back.
//
// Thread-safety: every method may be called from any thread; OnReadable by one thread at a time.
// Callbacks may call any method of the line (and of VmManager).
class ConsoleLine {
 public:
  using Callback = std::function<void(absl::string_view bytes)>;
  static constexpr size_t kHistoryBytes = 64 * 1024;
  static constexpr size_t kMaxLogBytes = 1024 * 1024;
  // Under the 3968 bytes at which the guest's tty throttles the line for good
  // (docs/uml-facts.md #22), as the agent's line is kept (AgentChannel::kLineBudget).
  static constexpr size_t kUnreadBudget = 3072;

  // `log_path`: what is read is appended there (created when the first line is attached; at
  // kMaxLogBytes it is renamed to `log_path`.1 and started again); "" for none.
  explicit ConsoleLine(std::string log_path);
  ~ConsoleLine();

  ConsoleLine(const ConsoleLine&) = delete;
  ConsoleLine& operator=(const ConsoleLine&) = delete;

  // Takes `line` (non-blocking, read and written) unless one is attached already; returns its
  // descriptor for the event loop, or -1 if it was not taken (then `line` is closed).
  int Attach(common::UniqueFd line);
  // The attached line's descriptor, -1 if none.
  int fd() const;
  // Drops the line (it is closed once no Write uses it any more).
  void Detach();

  // Reads everything the line holds, logs it, keeps the last kHistoryBytes and calls every
  // subscriber with it. Returns true when the line hung up (EOF, EIO, or `hangup` with nothing
  // read): the caller then Detaches it.
  bool OnReadable(bool hangup);

  // Calls `callback` with the history (if any) on this thread, then with every new chunk on the
  // thread calling OnReadable, until Unsubscribe(id) or Close. `id` is the caller's and unique.
  // On a closed line only the history is delivered.
  void Subscribe(int64_t id, Callback callback);
  // Ends subscription `id` (see above for the guarantee). Unknown ids are ignored.
  void Unsubscribe(int64_t id);

  // Writes keystrokes to the line, in pieces that keep within kUnreadBudget once the relay
  // acknowledges (see above). UNAVAILABLE: no line attached, or it went while this waited;
  // DEADLINE_EXCEEDED: the relay did not acknowledge enough by `deadline` (what was written by
  // then stays written); errors of WriteToLine.
  absl::Status Write(absl::string_view bytes, absl::Time deadline);

  // Sets the console's window size (rows x columns, what `stty size` prints in the guest): now
  // on the attached line, and on every line attached later (a VM that reboots keeps the size).
  // Errors of SetWindowSize (pty.h) for the attached line; the size is kept even then.
  absl::Status SetWindowSize(uint16_t rows, uint16_t columns);

  // Ends every subscription (with Unsubscribe's guarantee) and drops the line: the VM has ended.
  // Later Subscribes get the history only.
  void Close();

 private:
  struct Subscriber {
    explicit Subscriber(Callback cb) : callback(std::move(cb)) {}
    const Callback callback;
    absl::Mutex call_mu;                    // Held while `callback` runs.
    std::atomic<bool> active{true};         // Cleared before call_mu is taken to end it.
    std::atomic<std::thread::id> caller{};  // The thread running `callback`, if any.
  };

  // Appends `bytes` to console.log, moving a full one to console.log.1 first. Best effort: a
  // full disk loses log lines, never console output to subscribers.
  void LogLocked(absl::string_view bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls `sub` with `bytes` unless it has ended. Takes sub->call_mu.
  static void Call(Subscriber& sub, absl::string_view bytes);
  // Marks `sub` ended and waits until it is not running (unless this thread is running it).
  static void End(Subscriber& sub);

  const std::string log_path_;
  absl::Mutex write_mu_;  // One writer of keystrokes at a time.
  mutable absl::Mutex mu_;
  std::shared_ptr<common::UniqueFd> line_ ABSL_GUARDED_BY(mu_);
  common::UniqueFd log_ ABSL_GUARDED_BY(mu_);
  size_t log_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // console.log's size.
  std::string history_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::shared_ptr<Subscriber>> subscribers_ ABSL_GUARDED_BY(mu_);
  // Counts Attach calls: a new line (a reboot) starts a new ConsoleFlowFilter, so that a mark the
  // old line cut off is not joined to the new line's first output.
  uint64_t attachments_ ABSL_GUARDED_BY(mu_) = 0;
  // Used by OnReadable only (one thread at a time), for the line of attachment `filtered_`.
  ConsoleFlowFilter flow_filter_;
  uint64_t filtered_ = 0;
  bool flow_controlled_ ABSL_GUARDED_BY(mu_) = false;  // A relay reads the attached line.
  // Written to the attached line (since the relay's start mark, if one came), not acknowledged.
  size_t unacknowledged_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  uint16_t rows_ ABSL_GUARDED_BY(mu_) = 0;  // 0: never set, the line keeps its own size.
  uint16_t columns_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_CONSOLE_LINE_H_
