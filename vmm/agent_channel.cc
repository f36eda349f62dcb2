#include "vmm/agent_channel.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "vmm/pty.h"

namespace clownix::vmm {

AgentChannel::AgentChannel(common::UniqueFd line) : line_(std::move(line)) {}

absl::Status AgentChannel::Ping(const std::string& id) {
  absl::StatusOr<std::string> ping = AgentProtocol::EncodePing(id);
  if (!ping.ok()) return ping.status();
  {
    absl::MutexLock lock(&mu_);
    if (!closed_.ok()) return closed_;
    ping_id_ = id;
  }
  if (!write_mu_.TryLock()) return absl::UnavailableError("a request is being written");
  // A newline first: ends any partial line a previous client left in the guest's reader.
  absl::Status written = WriteToLine(line_.get(), "\n" + *ping, absl::Now());
  write_mu_.Unlock();
  if (!written.ok()) return absl::UnavailableError(absl::StrCat("ping: ", written.message()));
  // Never held back (this must not block): kLineBudget leaves room for pings. Counted once
  // written, so that a ping that was not does not shrink the budget for good.
  absl::MutexLock lock(&mu_);
  unread_ += ping->size() + 1;
  return absl::OkStatus();
}

AgentChannel::ReadResult AgentChannel::OnReadable(bool hangup) {
  ReadResult result;
  std::string got;
  char chunk[16384];
  for (;;) {
    ssize_t n = read(line_.get(), chunk, sizeof(chunk));
    if (n > 0) {
      got.append(chunk, static_cast<size_t>(n));
      // A guest that writes without pause must not hold the event loop: the rest is read on the
      // next wake-up (the loop's epoll is level-triggered).
      if (got.size() >= kMaxReadBytes) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    result.closed = !(n < 0 && errno == EAGAIN);  // 0 or EIO: the VM's side went away.
    break;
  }
  if (got.empty() && hangup) result.closed = true;
  std::vector<Completion> completions;
  ReadLines(&result, got, &completions);
  for (Completion& c : completions) c.on_done(std::move(c.reply));
  return result;
}

void AgentChannel::Complete(Pending* pending, absl::StatusOr<AgentProtocol::Reply> reply,
                            std::vector<Completion>* completions) {
  if (pending->on_done) {
    completions->push_back({std::move(pending->on_done), std::move(reply)});
    delete pending;
    return;
  }
  pending->done = true;
  if (reply.ok()) {
    pending->reply = *std::move(reply);
  } else {
    pending->error = reply.status();
  }
}

void AgentChannel::ReadLines(ReadResult* result_out, const std::string& got,
                             std::vector<Completion>* completions) {
  ReadResult& result = *result_out;
  absl::MutexLock lock(&mu_);
  buffer_ += got;
  size_t start = 0;
  // buffer_[0, scanned_) was searched for '\n' before: a long line is not searched again per read.
  for (size_t nl, from = scanned_; (nl = buffer_.find('\n', from)) != std::string::npos;
       start = from = nl + 1) {
    const absl::string_view line = absl::string_view(buffer_).substr(start, nl - start);
    absl::StatusOr<AgentProtocol::Reply> reply = AgentProtocol::ParseReply(line);
    if (!reply.ok()) {
      // Noise on the line, unless it claims to answer a waiting call: that call fails now rather
      // than at its deadline.
      const std::string id = AgentProtocol::ExecReplyId(line);
      auto it = id.empty() ? pending_.end() : pending_.find(id);
      if (it == pending_.end()) continue;
      Complete(it->second,
               absl::InternalError(absl::StrCat("the guest agent's reply is malformed: ",
                                                reply.status().message())),
               completions);
      pending_.erase(it);
      continue;
    }
    switch (reply->kind) {
      case AgentProtocol::Reply::kReady:
        if (reply->lpj > 0) result.ready_lpj = reply->lpj;
        // A new agent: what the last one had not read went with it, or this one reads it (and
        // its acknowledgements then find nothing left to count down).
        unread_ = 0;
        break;
      case AgentProtocol::Reply::kRead:
        if (!acks_seen_) {
          // From now on the budget holds. What was written before (a ping or two) is forgiven.
          acks_seen_ = true;
          unread_ = 0;
        } else {
          unread_ -= std::min<uint64_t>(unread_, reply->bytes_read);
        }
        break;
      case AgentProtocol::Reply::kPong:
        if (reply->id == ping_id_) result.ping_answered = true;
        break;
      case AgentProtocol::Reply::kExec: {
        auto it = pending_.find(reply->id);
        if (it == pending_.end()) break;  // Its caller gave up, or a reply to another client.
        Complete(it->second, std::move(*reply), completions);
        pending_.erase(it);
        break;
      }
    }
  }
  buffer_.erase(0, start);
  // A line longer than any reply can be is noise; drop it rather than grow without bound.
  if (buffer_.size() > kMaxLineBytes) buffer_.clear();
  scanned_ = buffer_.size();
}

absl::StatusOr<AgentProtocol::Reply> AgentChannel::Call(const std::string& id,
                                                        absl::string_view request,
                                                        absl::Time deadline) {
  Pending pending;
  {
    absl::MutexLock lock(&mu_);
    if (!closed_.ok()) return closed_;
    pending_[id] = &pending;
  }
  absl::Status written = WriteRequest(request, deadline, /*wait_for_room=*/true);
  absl::MutexLock lock(&mu_);
  if (!written.ok() && !pending.done) {
    pending_.erase(id);
    if (absl::IsDeadlineExceeded(written)) return written;
    return absl::UnavailableError(absl::StrCat("agent line: ", written.message()));
  }
  if (!mu_.AwaitWithDeadline(absl::Condition(&pending.done), deadline)) {
    pending_.erase(id);
    return absl::DeadlineExceededError("the agent did not answer in time");
  }
  if (!pending.error.ok()) return pending.error;
  return std::move(pending.reply);
}

void AgentChannel::CallAsync(const std::string& id, absl::string_view request,
                             absl::Time write_deadline, Done done) {
  absl::Status closed;
  {
    absl::MutexLock lock(&mu_);
    closed = closed_;
    if (closed.ok()) {
      auto* pending = new Pending;
      pending->on_done = std::move(done);
      pending_[id] = pending;
    }
  }
  if (!closed.ok()) {
    done(closed);  // With no lock held, as promised.
    return;
  }
  absl::Status written = WriteRequest(request, write_deadline, /*wait_for_room=*/false);
  if (written.ok()) return;
  Pending* failed = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // Completed (or failed by Close) meanwhile.
    failed = it->second;
    pending_.erase(it);
  }
  failed->on_done(absl::UnavailableError(absl::StrCat("agent line: ", written.message())));
  delete failed;
}

absl::Status AgentChannel::Send(absl::string_view request, absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    if (!closed_.ok()) return closed_;
  }
  return WriteRequest(request, deadline, /*wait_for_room=*/true);
}

absl::Status AgentChannel::WriteRequest(absl::string_view request, absl::Time deadline,
                                        bool wait_for_room) {
  if (request.size() > AgentProtocol::kMaxRequestBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a request of ", request.size(), " bytes"));
  }
  {
    absl::MutexLock lock(&mu_);
    auto room = [this, &request]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !acks_seen_ || unread_ + request.size() <= kLineBudget || !closed_.ok();
    };
    if (wait_for_room && !mu_.AwaitWithDeadline(absl::Condition(&room), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("the guest agent has not read the ", unread_, " bytes it was sent before"));
    }
    if (!closed_.ok()) return closed_;
    unread_ += request.size();  // Reserved now: a writer waiting meanwhile counts it.
  }
  absl::Status written;
  {
    absl::MutexLock lock(&write_mu_);
    written = WriteToLine(line_.get(), request, deadline);
  }
  if (!written.ok()) {
    // Not (all) written: counted as read, or the budget would shrink for good. A part that got
    // through is ended by the next ping's leading newline.
    absl::MutexLock lock(&mu_);
    unread_ -= std::min(unread_, request.size());
  }
  return written;
}

void AgentChannel::Close(const absl::Status& why) {
  std::vector<Completion> completions;
  {
    absl::MutexLock lock(&mu_);
    if (!closed_.ok()) return;
    closed_ = why.ok() ? absl::UnavailableError("agent line closed") : why;
    for (auto& [id, pending] : pending_) Complete(pending, closed_, &completions);
    pending_.clear();
  }
  for (Completion& c : completions) c.on_done(std::move(c.reply));
}

AgentChannel::~AgentChannel() {
  // Async calls still waiting are owned by the map; nobody will answer them now.
  Close(absl::CancelledError("agent channel destroyed"));
}

}  // namespace clownix::vmm
