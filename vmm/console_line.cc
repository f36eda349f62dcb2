#include "vmm/console_line.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "vmm/pty.h"

namespace clownix::vmm {

ConsoleLine::ConsoleLine(std::string log_path) : log_path_(std::move(log_path)) {}

ConsoleLine::~ConsoleLine() = default;

int ConsoleLine::Attach(common::UniqueFd line) {
  absl::MutexLock lock(&mu_);
  if (line_ || closed_) return -1;
  if (!log_.valid() && !log_path_.empty()) {
    // Without a log the console still works (history, subscribers); the log is for post-mortems.
    log_.reset(open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    struct stat st;
    log_bytes_ = log_.valid() && fstat(log_.get(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  }
  line_ = std::make_shared<common::UniqueFd>(std::move(line));
  ++attachments_;
  flow_controlled_ = false;
  unacknowledged_ = 0;
  // A console whose size cannot be set still works, at the size it had; the next
  // SetWindowSize reports the error to its caller.
  if (rows_ != 0) vmm::SetWindowSize(line_->get(), rows_, columns_).IgnoreError();
  return line_->get();
}

int ConsoleLine::fd() const {
  absl::MutexLock lock(&mu_);
  return line_ ? line_->get() : -1;
}

void ConsoleLine::Detach() {
  absl::MutexLock lock(&mu_);
  line_.reset();
}

bool ConsoleLine::OnReadable(bool hangup) {
  std::shared_ptr<common::UniqueFd> line;
  uint64_t attachment;
  {
    absl::MutexLock lock(&mu_);
    line = line_;
    attachment = attachments_;
  }
  if (!line) return false;
  if (attachment != filtered_) {
    flow_filter_ = ConsoleFlowFilter();
    filtered_ = attachment;
  }
  std::string got;
  bool closed = false;
  char chunk[16384];
  for (;;) {
    ssize_t n = read(line->get(), chunk, sizeof(chunk));
    if (n > 0) {
      got.append(chunk, static_cast<size_t>(n));
      if (got.size() > 256 * 1024) break;  // Deliver; the rest comes with the next wake-up.
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    closed = !(n < 0 && errno == EAGAIN);  // 0 or EIO: the VM's side went away.
    break;
  }
  if (got.empty()) return closed || hangup;
  std::string shown;
  const ConsoleFlowFilter::Marks marks = flow_filter_.Filter(got, &shown);
  got = std::move(shown);
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  {
    absl::MutexLock lock(&mu_);
    if (line_ == line) {
      // Any mark says a relay reads the line: a start mark a new one (a boot), an acknowledgement
      // alone one that was running before this line was attached (clownixd restarted).
      if (marks.started || marks.acknowledged > 0) flow_controlled_ = true;
      if (marks.started) unacknowledged_ = 0;
      // More than was counted can be acknowledged: keystrokes written before the start mark
      // arrived and read after it.
      unacknowledged_ -= std::min(unacknowledged_, marks.acknowledged);
    }
    if (got.empty()) return closed;
    LogLocked(got);
    history_ += got;
    if (history_.size() > kHistoryBytes) history_.erase(0, history_.size() - kHistoryBytes);
    for (const auto& [id, sub] : subscribers_) subscribers.push_back(sub);
  }
  for (const std::shared_ptr<Subscriber>& sub : subscribers) Call(*sub, got);
  return closed;
}

void ConsoleLine::LogLocked(absl::string_view bytes) {
  if (!log_.valid()) return;
  if (log_bytes_ > 0 && log_bytes_ + bytes.size() > kMaxLogBytes) {
    const std::string old = log_path_ + ".1";
    // If the rename fails the log starts again in place: bounded either way.
    if (rename(log_path_.c_str(), old.c_str()) != 0) unlink(log_path_.c_str());
    log_.reset(open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
    log_bytes_ = 0;
    if (!log_.valid()) return;
  }
  ssize_t written = write(log_.get(), bytes.data(), bytes.size());
  if (written > 0) log_bytes_ += static_cast<size_t>(written);
}

void ConsoleLine::Call(Subscriber& sub, absl::string_view bytes) {
  absl::MutexLock lock(&sub.call_mu);
  if (!sub.active.load()) return;
  sub.caller.store(std::this_thread::get_id());
  sub.callback(bytes);
  sub.caller.store(std::thread::id());
}

void ConsoleLine::End(Subscriber& sub) {
  sub.active.store(false);
  if (sub.caller.load() == std::this_thread::get_id()) return;  // From inside its own callback.
  // Waits for a call in progress; any later one sees `active` false.
  absl::MutexLock lock(&sub.call_mu);
}

void ConsoleLine::Subscribe(int64_t id, Callback callback) {
  auto sub = std::make_shared<Subscriber>(std::move(callback));
  // Held from before the subscriber is visible to OnReadable until the history is delivered.
  absl::MutexLock call_lock(&sub->call_mu);
  std::string history;
  {
    absl::MutexLock lock(&mu_);
    history = history_;
    if (!closed_) subscribers_[id] = sub;
  }
  if (history.empty()) return;
  sub->caller.store(std::this_thread::get_id());
  sub->callback(history);
  sub->caller.store(std::thread::id());
}

void ConsoleLine::Unsubscribe(int64_t id) {
  std::shared_ptr<Subscriber> sub;
  {
    absl::MutexLock lock(&mu_);
    auto it = subscribers_.find(id);
    if (it == subscribers_.end()) return;
    sub = std::move(it->second);
    subscribers_.erase(it);
  }
  End(*sub);
}

absl::Status ConsoleLine::Write(absl::string_view bytes, absl::Time deadline) {
  absl::MutexLock write_lock(&write_mu_);
  std::shared_ptr<common::UniqueFd> line;
  {
    absl::MutexLock lock(&mu_);
    line = line_;
  }
  if (!line) return absl::UnavailableError("console not attached");
  while (!bytes.empty()) {
    size_t piece = bytes.size();
    {
      absl::MutexLock lock(&mu_);
      auto has_room = [this, &line]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return line_ != line || !flow_controlled_ || unacknowledged_ < kUnreadBudget;
      };
      if (!mu_.AwaitWithDeadline(absl::Condition(&has_room), deadline)) {
        return absl::DeadlineExceededError(
            absl::StrCat("the console's guest has not read ", unacknowledged_,
                         " bytes of keystrokes (it may be busy or stuck)"));
      }
      if (line_ != line) return absl::UnavailableError("console detached while writing");
      // Counted before it is written (the acknowledgement can come back before WriteToLine
      // does), and also before flow control is on, so the count is right once it is.
      if (flow_controlled_) piece = std::min(piece, kUnreadBudget - unacknowledged_);
      unacknowledged_ += piece;
    }
    size_t written = 0;
    if (absl::Status s = WriteToLine(line->get(), bytes.substr(0, piece), deadline, &written);
        !s.ok()) {
      // The VM did not drain the host's side of the line by the deadline (its kernel was not
      // reading it at all), or the line is gone. What was not written will never be
      // acknowledged: left counted, it would shrink this line's budget for good (a console that
      // waits forever once a stuck guest recovers).
      absl::MutexLock lock(&mu_);
      if (line_ == line) unacknowledged_ -= std::min(unacknowledged_, piece - written);
      return s;
    }
    bytes.remove_prefix(piece);
  }
  return absl::OkStatus();
}

absl::Status ConsoleLine::SetWindowSize(uint16_t rows, uint16_t columns) {
  absl::MutexLock lock(&mu_);
  rows_ = rows;
  columns_ = columns;
  if (!line_) return absl::OkStatus();
  return vmm::SetWindowSize(line_->get(), rows, columns);
}

void ConsoleLine::Close() {
  std::map<int64_t, std::shared_ptr<Subscriber>> subscribers;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    line_.reset();
    subscribers.swap(subscribers_);
  }
  for (auto& [id, sub] : subscribers) End(*sub);
}

}  // namespace clownix::vmm
