#include "switchcore/ctl/switch_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "switchcore/ctl/capture_ring_reader.h"

namespace clownix::switchcore {
namespace {

void CopyField(char* dst, size_t size, absl::string_view src) {
  std::memset(dst, 0, size);
  std::memcpy(dst, src.data(), std::min(src.size(), size - 1));
}

bool Terminated(const char* data, size_t size) { return std::memchr(data, 0, size) != nullptr; }

void Signal(int efd) {
  uint64_t one = 1;
  if (write(efd, &one, sizeof(one)) < 0) { /* counter saturated: the reader is awake anyway */
  }
}

void Drain(int efd) {
  uint64_t v;
  while (read(efd, &v, sizeof(v)) == sizeof(v)) {
  }
}

}  // namespace

// How sessions reach their client: nulled (under the writer lock) when the client goes away;
// sessions hold the reader lock while they call the client.
struct SwitchClient::CaptureLink {
  absl::Mutex mu;
  SwitchClient* client ABSL_GUARDED_BY(mu) = nullptr;
};

// A CaptureSession over one slot of the capture segment. Its end status is set once (the first
// reason wins): by the supervisor thread (kCaptureEnded, the switch exited), by Stop, or by a
// broken ring; setting it wakes a blocked Read through the slot's futex word.
class SwitchClient::Capture final : public CaptureSession {
 public:
  Capture(std::shared_ptr<CaptureLink> link, std::shared_ptr<ctl::CaptureSegment> segment,
          uint32_t slot, uint64_t port_id)
      : link_(std::move(link)),
        segment_(std::move(segment)),
        slot_(slot),
        port_id_(port_id),
        reader_(segment_->slot(slot), segment_->ring(slot)) {}

  ~Capture() override {
    Stop();
    absl::ReaderMutexLock link(&link_->mu);
    if (link_->client != nullptr) link_->client->ReleaseCapture(slot_);
  }

  absl::Status Read(absl::Time deadline, size_t max_frames,
                    absl::FunctionRef<void(const CapturedFrame&)> on_frame) override {
    for (;;) {
      // Looked at before the ring: frames published before the end are all drained first.
      bool ended = ended_.load(std::memory_order_seq_cst);
      absl::StatusOr<size_t> n = reader_.Drain(max_frames, on_frame);
      if (!n.ok()) {
        End(n.status());
        return EndStatus();
      }
      if (*n > 0) return absl::OkStatus();
      if (ended) return EndStatus();
      if (absl::Now() >= deadline) return absl::OkStatus();
      reader_.Wait(deadline, ended_);
    }
  }

  void Stop() override {
    End(absl::CancelledError("capture stopped"));
    {
      absl::MutexLock lock(&mu_);
      if (stop_sent_) return;
      stop_sent_ = true;
    }
    absl::ReaderMutexLock link(&link_->mu);
    if (link_->client != nullptr) link_->client->StopCapture(slot_);
  }

  uint64_t dropped() const override {
    return segment_->slot(slot_)->dropped.load(std::memory_order_relaxed);
  }
  uint64_t bound_port() const override {
    return port_id_ != 0 ? port_id_
                         : segment_->slot(slot_)->bound_port.load(std::memory_order_relaxed);
  }

  // The capture ended (or is ending) for `why`: kept if it is the first reason; Read wakes up.
  void End(absl::Status why) {
    {
      absl::MutexLock lock(&mu_);
      if (!ended_.load(std::memory_order_relaxed)) end_ = std::move(why);
      ended_.store(true, std::memory_order_seq_cst);
    }
    ctl::CaptureRingReader::Interrupt(segment_->slot(slot_));
  }

 private:
  absl::Status EndStatus() {
    absl::MutexLock lock(&mu_);
    return end_;
  }

  const std::shared_ptr<CaptureLink> link_;
  const std::shared_ptr<ctl::CaptureSegment> segment_;
  const uint32_t slot_;
  const uint64_t port_id_;
  ctl::CaptureRingReader reader_;  // Read's only
  std::atomic<bool> ended_{false};
  absl::Mutex mu_;
  absl::Status end_ ABSL_GUARDED_BY(mu_);
  bool stop_sent_ ABSL_GUARDED_BY(mu_) = false;
};

absl::StatusOr<std::unique_ptr<SwitchClient>> SwitchClient::Create(Options options) {
  if (access(options.switchcore_path.c_str(), X_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("switchcore binary ", options.switchcore_path, " is not executable"));
  }
  if (options.work_dir.empty()) return absl::InvalidArgumentError("work_dir is empty");
  if (options.vm_uids.has_value()) {
    if (absl::Status s = PeerPolicy::ValidateRange(*options.vm_uids); !s.ok()) return s;
  }
  auto client = std::unique_ptr<SwitchClient>(new SwitchClient(std::move(options)));
  {
    absl::MutexLock lock(&client->mu_);
    client->incarnation_ = client->options_.first_incarnation;
  }
  absl::StatusOr<std::unique_ptr<ctl::CtlSegment>> segment = ctl::CtlSegment::Create();
  if (!segment.ok()) return segment.status();
  client->segment_ = *std::move(segment);
  absl::StatusOr<std::unique_ptr<ctl::CaptureSegment>> capture = ctl::CaptureSegment::Create();
  if (!capture.ok()) return capture.status();
  client->capture_segment_ = *std::move(capture);
  client->capture_link_ = std::make_shared<CaptureLink>();
  {
    absl::MutexLock lock(&client->capture_link_->mu);
    client->capture_link_->client = client.get();
  }
  client->request_efd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  client->event_efd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  client->stop_efd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (client->request_efd_ < 0 || client->event_efd_ < 0 || client->stop_efd_ < 0) {
    return absl::ResourceExhaustedError(absl::StrCat("eventfd: ", strerror(errno)));
  }
  {
    absl::MutexLock lock(&client->mu_);
    ctl::SegmentHeader* h = client->segment_->header();
    client->requests_ = std::make_unique<ctl::SpscRing>(
        &h->request_head, &h->request_tail, client->segment_->request_slots(), ctl::kRequestSlots);
    client->events_ = std::make_unique<ctl::SpscRing>(
        &h->event_head, &h->event_tail, client->segment_->event_slots(), ctl::kEventSlots);
  }
  client->supervisor_ = std::thread([c = client.get()] { c->Supervise(); });
  {
    absl::MutexLock lock(&client->mu_);
    client->mu_.Await(absl::Condition(
        +[](SwitchClient* c) ABSL_NO_THREAD_SAFETY_ANALYSIS { return c->started_once_; },
        client.get()));
    if (client->pid_ == 0) {
      return absl::InternalError(
          absl::StrCat("could not start ", client->options_.switchcore_path));
    }
  }
  return client;
}

SwitchClient::~SwitchClient() {
  Shutdown();
  if (capture_link_ != nullptr) {
    absl::MutexLock lock(&capture_link_->mu);  // waits for sessions calling in
    capture_link_->client = nullptr;
  }
  for (int fd : {request_efd_, event_efd_, stop_efd_}) {
    if (fd >= 0) close(fd);
  }
}

void SwitchClient::LogLocked(std::string line) { log_queue_.push_back(std::move(line)); }

void SwitchClient::FlushLog() {
  std::vector<std::string> lines;
  {
    absl::MutexLock lock(&mu_);
    lines.swap(log_queue_);
  }
  for (const std::string& line : lines) {
    if (options_.on_log) {
      options_.on_log(line);
    } else {
      fprintf(stderr, "SwitchClient: %s\n", line.c_str());
    }
  }
}

// ---------------------------------------------------------------- requests

void SwitchClient::PumpLocked() {
  bool pushed = false;
  while (!outbox_.empty() && pid_ != 0) {
    absl::StatusOr<bool> ok = requests_->Push(&outbox_.front());
    if (!ok.ok()) {
      // The switch scribbled over its index: it is broken; let its waiters time out.
      LogLocked(absl::StrCat("request ring: ", ok.status().ToString()));
      break;
    }
    if (!*ok) break;  // full: the switch will make room and wake us with events
    outbox_.pop_front();
    pushed = true;
  }
  if (pushed) Signal(request_efd_);
}

absl::StatusOr<SwitchClient::Waiter> SwitchClient::Call(ctl::Request& req) {
  absl::StatusOr<Waiter> result = CallAndWait(req);
  FlushLog();
  return result;
}

absl::StatusOr<SwitchClient::Waiter> SwitchClient::CallAndWait(ctl::Request& req) {
  Waiter waiter;
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::FailedPreconditionError("switch client is shut down");
  if (pid_ == 0) return absl::UnavailableError("clownix-switchcore is restarting");
  uint64_t id = next_request_id_++;
  req.request_id = id;
  waiters_[id] = &waiter;
  outbox_.push_back(req);
  PumpLocked();
  bool done = mu_.AwaitWithTimeout(absl::Condition(&waiter.done), options_.request_timeout);
  waiters_.erase(id);
  if (!done) {
    for (auto it = outbox_.begin(); it != outbox_.end(); ++it) {
      if (it->request_id == id) {
        outbox_.erase(it);
        break;
      }
    }
    return absl::UnavailableError(absl::StrCat("clownix-switchcore did not answer within ",
                                               absl::FormatDuration(options_.request_timeout)));
  }
  return waiter;
}

absl::Status SwitchClient::CreateLan(absl::string_view lan, ctl::LanMode mode) {
  if (lan.empty() || lan.size() >= ctl::kLanNameSize) {
    return absl::InvalidArgumentError(absl::StrCat("lan name \"", lan, "\" has a bad length"));
  }
  ctl::Request req = {};
  req.type = static_cast<uint32_t>(ctl::RequestType::kCreateLan);
  req.lan_mode = static_cast<uint32_t>(mode);
  CopyField(req.lan, sizeof(req.lan), lan);
  absl::StatusOr<Waiter> w = Call(req);
  if (!w.ok()) return w.status();
  if (!w->status.ok()) return w->status;
  absl::MutexLock lock(&mu_);
  lans_[std::string(lan)] = mode;
  return absl::OkStatus();
}

absl::Status SwitchClient::DeleteLan(absl::string_view lan) {
  if (lan.empty() || lan.size() >= ctl::kLanNameSize) {
    return absl::InvalidArgumentError(absl::StrCat("lan name \"", lan, "\" has a bad length"));
  }
  ctl::Request req = {};
  req.type = static_cast<uint32_t>(ctl::RequestType::kDeleteLan);
  CopyField(req.lan, sizeof(req.lan), lan);
  absl::StatusOr<Waiter> w = Call(req);
  if (!w.ok()) return w.status();
  if (!w->status.ok()) return w->status;
  absl::MutexLock lock(&mu_);
  lans_.erase(std::string(lan));
  for (auto it = ports_.begin(); it != ports_.end();) {
    if (it->second.lan == lan) {
      impairments_.erase({it->first, 0});
      impairments_.erase({it->first, 1});
      ports_.erase(it++);
    } else {
      ++it;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> SwitchClient::AttachTap(absl::string_view lan, absl::string_view tap) {
  if (lan.empty() || lan.size() >= ctl::kLanNameSize || tap.empty() ||
      tap.size() >= ctl::kTapNameSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("lan \"", lan, "\" or tap \"", tap, "\" has a bad length"));
  }
  ctl::Request req = {};
  req.type = static_cast<uint32_t>(ctl::RequestType::kAttachTap);
  req.counters_slot = -1;
  CopyField(req.lan, sizeof(req.lan), lan);
  CopyField(req.tap, sizeof(req.tap), tap);
  absl::StatusOr<Waiter> w = Call(req);
  if (!w.ok()) return w.status();
  if (!w->status.ok()) return w->status;
  absl::MutexLock lock(&mu_);
  PortInfo& info = ports_[w->port_id];
  info.port_id = w->port_id;
  info.lan = std::string(lan);
  info.kind = ctl::PortKind::kTap;
  info.tap_name = std::string(tap);
  info.counters_slot = w->counters_slot;
  return w->port_id;
}

absl::StatusOr<uint64_t> SwitchClient::RestorePort(const PortInfo& port) {
  if (port.kind != ctl::PortKind::kVm || port.lan.empty() || port.lan.size() >= ctl::kLanNameSize) {
    return absl::InvalidArgumentError("only VM ports with a LAN name can be restored");
  }
  ctl::Request req = {};
  req.type = static_cast<uint32_t>(ctl::RequestType::kRestorePort);
  req.port_id = port.port_id;
  req.counters_slot = -1;
  CopyField(req.lan, sizeof(req.lan), port.lan);
  std::memcpy(req.vm_address, &port.vm_address.addr, sizeof(req.vm_address));
  req.mac_known = port.mac_known;
  std::memcpy(req.mac, port.mac.data(), 6);
  absl::StatusOr<Waiter> w = Call(req);
  if (!w.ok()) return w.status();
  if (!w->status.ok()) return w->status;
  absl::MutexLock lock(&mu_);
  PortInfo& info = ports_[w->port_id];
  info = port;
  info.port_id = w->port_id;
  info.counters_slot = w->counters_slot;
  return w->port_id;
}

absl::Status SwitchClient::DetachTap(uint64_t port_id) {
  ctl::Request req = {};
  req.type = static_cast<uint32_t>(ctl::RequestType::kDetachTap);
  req.port_id = port_id;
  absl::StatusOr<Waiter> w = Call(req);
  if (!w.ok()) return w.status();
  if (!w->status.ok()) return w->status;
  absl::MutexLock lock(&mu_);
  ports_.erase(port_id);
  impairments_.erase({port_id, 0});
  impairments_.erase({port_id, 1});
  return absl::OkStatus();
}

absl::Status SwitchClient::SetImpairment(uint64_t port_id, ctl::Direction direction,
                                         const ctl::Impairment& impairment) {
  ctl::Request req = {};
  req.type = static_cast<uint32_t>(ctl::RequestType::kSetImpairment);
  req.port_id = port_id;
  req.direction = static_cast<uint32_t>(direction);
  req.impairment = impairment;
  absl::StatusOr<Waiter> w = Call(req);
  if (!w.ok()) return w.status();
  if (!w->status.ok()) return w->status;
  absl::MutexLock lock(&mu_);
  impairments_[{port_id, static_cast<uint32_t>(direction)}] = impairment;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CaptureSession>> SwitchClient::StartCapture(
    const CaptureSpec& spec) {
  if (spec.lan.empty() || spec.lan.size() >= ctl::kLanNameSize) {
    return absl::InvalidArgumentError(absl::StrCat("lan name \"", spec.lan, "\" is not valid"));
  }
  if (spec.snaplen < 1 || spec.snaplen > ctl::kCaptureMaxSnaplen) {
    return absl::InvalidArgumentError(
        absl::StrCat("snaplen ", spec.snaplen, " is not in 1..", ctl::kCaptureMaxSnaplen));
  }
  if (spec.program.size() > ctl::kCaptureMaxInsns) {
    return absl::InvalidArgumentError(absl::StrCat("the filter program has ", spec.program.size(),
                                                   " instructions, more than the limit of ",
                                                   ctl::kCaptureMaxInsns));
  }
  uint32_t slot = ctl::kCaptureSlots;
  std::unique_ptr<Capture> session;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::FailedPreconditionError("switch client is shut down");
    if (pid_ == 0) return absl::UnavailableError("clownix-switchcore is restarting");
    for (uint32_t i = 0; i < ctl::kCaptureSlots; ++i) {
      if (capture_slots_[i].session == nullptr && capture_slots_[i].running_in == 0) {
        slot = i;
        break;
      }
    }
    if (slot == ctl::kCaptureSlots) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "all ", ctl::kCaptureSlots, " capture slots are in use: end a capture first"));
    }
    session = std::make_unique<Capture>(capture_link_, capture_segment_, slot, spec.port_id);
    capture_slots_[slot].session = session.get();
    capture_slots_[slot].running_in = pid_;  // from now on it might
  }
  // The slot is ours and no switch writes to it: fill it in.
  capture_segment_->ResetSlot(slot);
  ctl::CaptureSlotHeader* h = capture_segment_->slot(slot);
  h->snaplen = spec.snaplen;
  h->program_len = static_cast<uint32_t>(spec.program.size());
  if (!spec.program.empty()) {
    std::memcpy(capture_segment_->program(slot), spec.program.data(),
                spec.program.size() * sizeof(sock_filter));
  }
  ctl::Request req = {};
  req.type = static_cast<uint32_t>(ctl::RequestType::kStartCapture);
  req.capture_slot = static_cast<uint8_t>(slot);
  req.port_id = spec.port_id;
  CopyField(req.lan, sizeof(req.lan), spec.lan);
  if (spec.port_id == 0 && spec.mac.has_value()) {
    req.mac_known = 1;
    std::memcpy(req.mac, spec.mac->data(), 6);
  }
  absl::StatusOr<Waiter> w = Call(req);
  if (!w.ok()) return w.status();  // unanswered: the session's end sends kStopCapture
  if (!w->status.ok()) {
    absl::MutexLock lock(&mu_);
    capture_slots_[slot].running_in = 0;  // the switch refused it: nothing runs there
    return w->status;
  }
  return session;
}

void SwitchClient::StopCapture(uint32_t slot) {
  {
    absl::MutexLock lock(&mu_);
    if (capture_slots_[slot].running_in == 0) return;  // ended, or its switch exited
  }
  ctl::Request req = {};
  req.type = static_cast<uint32_t>(ctl::RequestType::kStopCapture);
  req.capture_slot = static_cast<uint8_t>(slot);
  absl::StatusOr<Waiter> w = Call(req);
  absl::MutexLock lock(&mu_);
  // Acknowledged, or NOT_FOUND (it had ended): the switch no longer writes there. Unanswered: the
  // slot stays taken until that switch exits (ReapLocked).
  if (w.ok()) capture_slots_[slot].running_in = 0;
}

void SwitchClient::ReleaseCapture(uint32_t slot) {
  absl::MutexLock lock(&mu_);
  capture_slots_[slot].session = nullptr;
  if (capture_slots_[slot].running_in == 0) ReleaseCaptureMemoryLocked(slot);
}

void SwitchClient::ReleaseCaptureMemoryLocked(uint32_t slot) {
  if (absl::Status s = capture_segment_->Release(slot); !s.ok()) {
    // The slot still works; its pages just stay until the next capture there overwrites them.
    LogLocked(s.ToString());
  }
}

absl::StatusOr<SwitchClient::Counters> SwitchClient::ReadCounters(uint64_t port_id) const {
  absl::MutexLock lock(&mu_);
  auto it = ports_.find(port_id);
  if (it == ports_.end()) return absl::NotFoundError(absl::StrCat("port ", port_id, " is unknown"));
  int slot = it->second.counters_slot;
  if (slot < 0 || slot >= static_cast<int>(ctl::kCounterSlots)) {
    return absl::UnavailableError(absl::StrCat("port ", port_id, " has no counters slot"));
  }
  const ctl::PortCounters* c = segment_->counters(slot);
  if (c->port_id.load(std::memory_order_acquire) != port_id) {
    return absl::UnavailableError(absl::StrCat("counters of port ", port_id, " are not live"));
  }
  Counters out;
  out.rx_frames = c->rx_frames.load(std::memory_order_relaxed);
  out.rx_bytes = c->rx_bytes.load(std::memory_order_relaxed);
  out.tx_frames = c->tx_frames.load(std::memory_order_relaxed);
  out.tx_bytes = c->tx_bytes.load(std::memory_order_relaxed);
  for (int i = 0; i < ctl::kDropCauseCount; ++i) {
    out.drops[i] = c->drops[i].load(std::memory_order_relaxed);
  }
  return out;
}

std::vector<SwitchClient::PortInfo> SwitchClient::Ports() const {
  absl::MutexLock lock(&mu_);
  std::vector<PortInfo> out;
  for (const auto& [id, info] : ports_) out.push_back(info);
  return out;
}

std::string SwitchClient::ControlPath(absl::string_view lan) const {
  return absl::StrCat(options_.work_dir, "/lans/", lan, "/ctl");
}

pid_t SwitchClient::pid() const {
  absl::MutexLock lock(&mu_);
  return pid_;
}

uint64_t SwitchClient::events_lost() const {
  return segment_->header()->events_lost.load(std::memory_order_relaxed);
}

uint64_t SwitchClient::peers_refused() const {
  return segment_->header()->peers_refused.load(std::memory_order_relaxed);
}

int SwitchClient::restarts() const {
  absl::MutexLock lock(&mu_);
  return restarts_;
}

absl::Status SwitchClient::WaitReady(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return pid_ != 0 && replays_.empty() && outbox_.empty();
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ready), timeout)) {
    return absl::DeadlineExceededError("clownix-switchcore is not ready");
  }
  return absl::OkStatus();
}

void SwitchClient::Shutdown() {
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (supervisor_.joinable()) {
    absl::MutexLock lock(&mu_);
    stopping_ = true;  // from now on an exit is not a crash
    if (pid_ != 0) {
      ctl::Request req = {};
      req.type = static_cast<uint32_t>(ctl::RequestType::kShutdown);
      req.request_id = next_request_id_++;
      outbox_.push_back(req);
      PumpLocked();
    }
    auto exited = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return pid_ == 0; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&exited), absl::Seconds(2)) && pidfd_ >= 0) {
      syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
      mu_.Await(absl::Condition(&exited));
    }
  }
  if (supervisor_.joinable()) {
    Signal(stop_efd_);
    supervisor_.join();
  }
  FlushLog();
}

// ---------------------------------------------------------------- supervisor

bool SwitchClient::SpawnLocked() {
  common::SpawnOptions spawn;
  spawn.argv = {
      options_.switchcore_path,
      absl::StrCat("--ctl_fd=", segment_->fd()),
      absl::StrCat("--request_eventfd=", request_efd_),
      absl::StrCat("--event_eventfd=", event_efd_),
      absl::StrCat("--capture_fd=", capture_segment_->fd()),
      absl::StrCat("--work_dir=", options_.work_dir),
      absl::StrCat("--incarnation=", incarnation_),
  };
  if (options_.vm_uids.has_value()) {
    spawn.argv.push_back(absl::StrCat("--vm_uid_first=", options_.vm_uids->first));
    spawn.argv.push_back(absl::StrCat("--vm_uid_last=", options_.vm_uids->last));
  }
  for (const std::string& f : options_.extra_flags) spawn.argv.push_back(f);
  // Only the channel fds cross exec, whatever else the embedding process left open.
  for (int fd : {segment_->fd(), request_efd_, event_efd_, capture_segment_->fd()}) {
    spawn.fds.push_back({fd, fd});
  }
  // The switch dies with this (supervisor) thread.
  spawn.parent_death_signal = SIGTERM;
  absl::StatusOr<common::SpawnedChild> child = common::Spawn(spawn);
  if (!child.ok()) {
    LogLocked(child.status().ToString());
    return false;
  }
  pid_ = child->pid;
  pidfd_ = child->pidfd.release();
  started_at_ = absl::Now();
  return true;
}

void SwitchClient::QueueReplayLocked() {
  auto replay = [this](ctl::Request& req) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    req.request_id = kReplayBit | next_request_id_++;
    replays_[req.request_id] = Replay{static_cast<ctl::RequestType>(req.type), req.port_id};
    outbox_.push_back(req);
  };
  for (const auto& [name, mode] : lans_) {
    ctl::Request req = {};
    req.type = static_cast<uint32_t>(ctl::RequestType::kCreateLan);
    req.lan_mode = static_cast<uint32_t>(mode);
    CopyField(req.lan, sizeof(req.lan), name);
    replay(req);
  }
  for (const auto& [id, port] : ports_) {
    ctl::Request req = {};
    req.port_id = id;
    req.counters_slot = port.counters_slot;
    CopyField(req.lan, sizeof(req.lan), port.lan);
    if (port.kind == ctl::PortKind::kTap) {
      req.type = static_cast<uint32_t>(ctl::RequestType::kAttachTap);
      CopyField(req.tap, sizeof(req.tap), port.tap_name);
    } else {
      req.type = static_cast<uint32_t>(ctl::RequestType::kRestorePort);
      std::memcpy(req.vm_address, &port.vm_address.addr, sizeof(req.vm_address));
      req.mac_known = port.mac_known;
      std::memcpy(req.mac, port.mac.data(), 6);
    }
    replay(req);
  }
  for (const auto& [key, imp] : impairments_) {
    ctl::Request req = {};
    req.type = static_cast<uint32_t>(ctl::RequestType::kSetImpairment);
    req.port_id = key.first;
    req.direction = key.second;
    req.impairment = imp;
    replay(req);
  }
}

void SwitchClient::ReapLocked() {
  // The pidfd said it exited: the wait does not block, and it cannot fail for our own child.
  absl::StatusOr<int> status = common::WaitForChild(pid_);
  close(pidfd_);
  pidfd_ = -1;
  pid_ = 0;
  absl::Duration ran = absl::Now() - started_at_;
  if (!stopping_) {
    LogLocked(
        absl::StrCat("clownix-switchcore ",
                     status.ok() ? common::DescribeWaitStatus(*status) : status.status().ToString(),
                     " after ", absl::FormatDuration(ran), "; restarting"));
  }
  // Requests in flight died with it.
  for (auto& [id, waiter] : waiters_) {
    waiter->done = true;
    waiter->status = absl::UnavailableError("clownix-switchcore exited");
  }
  outbox_.clear();
  replays_.clear();
  // Captures are not replayed: they end once their last frames are read.
  for (uint32_t slot = 0; slot < ctl::kCaptureSlots; ++slot) {
    CaptureSlot& c = capture_slots_[slot];
    if (c.running_in == 0) continue;
    c.running_in = 0;
    if (c.session != nullptr) {
      c.session->End(absl::UnavailableError(
          stopping_ ? "the switch client shut down"
                    : "clownix-switchcore exited (captures are not restarted with it)"));
    } else {
      ReleaseCaptureMemoryLocked(slot);
    }
  }
  next_delay_ =
      ran > absl::Seconds(5)
          ? absl::ZeroDuration()
          : std::min(options_.max_restart_delay, std::max(options_.restart_delay, next_delay_ * 2));
}

void SwitchClient::Supervise() {
  absl::Time restart_at = absl::Now();
  bool need_start = true;
  for (;;) {
    if (need_start && absl::Now() >= restart_at) {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      segment_->ResetRings();
      requests_->Reset();
      events_->Reset();
      Drain(request_efd_);
      Drain(event_efd_);
      if (started_once_) {
        ++restarts_;
        ++incarnation_;
      }
      if (SpawnLocked()) {
        need_start = false;
        QueueReplayLocked();
        PumpLocked();
      } else {
        restart_at = absl::Now() + options_.max_restart_delay;
      }
      started_once_ = true;
    }
    struct pollfd fds[3] = {{stop_efd_, POLLIN, 0}, {event_efd_, POLLIN, 0}, {-1, POLLIN, 0}};
    {
      absl::MutexLock lock(&mu_);
      fds[2].fd = pidfd_;
    }
    int timeout = -1;
    if (need_start) {
      timeout = static_cast<int>(
          absl::ToInt64Milliseconds(std::max(restart_at - absl::Now(), absl::ZeroDuration())) + 1);
    }
    FlushLog();
    if (poll(fds, 3, timeout) < 0 && errno != EINTR) break;
    if (fds[0].revents) break;
    if (fds[1].revents) DrainEvents();
    if (fds[2].fd >= 0 && fds[2].revents) {
      DrainEvents();  // what it said before dying
      absl::MutexLock lock(&mu_);
      ReapLocked();
      if (stopping_) continue;
      need_start = true;
      restart_at = absl::Now() + next_delay_;
    }
  }
}

void SwitchClient::DrainEvents() {
  Drain(event_efd_);
  std::vector<PortEvent> callbacks;
  {
    absl::MutexLock lock(&mu_);
    ctl::Event ev;
    for (;;) {
      absl::StatusOr<bool> got = events_->Pop(&ev);
      if (!got.ok()) {
        LogLocked(absl::StrCat("event ring: ", got.status().ToString()));
        events_->Resync();
        break;
      }
      if (!*got) break;
      HandleEventLocked(ev, callbacks);
    }
    PumpLocked();  // the switch consumed requests: there may be room now
  }
  FlushLog();
  if (options_.on_port_event) {
    for (const PortEvent& e : callbacks) options_.on_port_event(e);
  }
}

void SwitchClient::HandleEventLocked(const ctl::Event& ev, std::vector<PortEvent>& callbacks) {
  if (!Terminated(ev.lan, sizeof(ev.lan)) || !Terminated(ev.message, sizeof(ev.message)) ||
      ev.counters_slot < -1 || ev.counters_slot >= static_cast<int>(ctl::kCounterSlots) ||
      ev.port_kind > static_cast<uint32_t>(ctl::PortKind::kTap)) {
    LogLocked(absl::StrCat("malformed event of type ", ev.type, " ignored"));
    return;
  }
  switch (static_cast<ctl::EventType>(ev.type)) {
    case ctl::EventType::kAck:
    case ctl::EventType::kError: {
      absl::Status status = ev.type == static_cast<uint32_t>(ctl::EventType::kAck)
                                ? absl::OkStatus()
                                : absl::Status(ev.status_code > 0 && ev.status_code <= 16
                                                   ? static_cast<absl::StatusCode>(ev.status_code)
                                                   : absl::StatusCode::kInternal,
                                               ev.message);
      if (auto it = waiters_.find(ev.request_id); it != waiters_.end()) {
        it->second->status = status;
        it->second->port_id = ev.port_id;
        it->second->counters_slot = ev.counters_slot;
        it->second->done = true;
        return;
      }
      auto rit = replays_.find(ev.request_id);
      if (rit == replays_.end()) {
        if (!status.ok()) LogLocked(absl::StrCat("switchcore: ", status.ToString()));
        return;
      }
      Replay replay = rit->second;
      replays_.erase(rit);
      if (!status.ok()) {
        LogLocked(absl::StrCat("replay of request type ", static_cast<uint32_t>(replay.type),
                               " (port ", replay.port_id, ") failed: ", status.ToString()));
        if (replay.type == ctl::RequestType::kRestorePort ||
            replay.type == ctl::RequestType::kAttachTap) {
          auto pit = ports_.find(replay.port_id);
          if (pit != ports_.end()) {
            callbacks.push_back(PortEvent{false, pit->second, std::string(status.message())});
            impairments_.erase({replay.port_id, 0});
            impairments_.erase({replay.port_id, 1});
            ports_.erase(pit);
          }
        }
      } else if (ev.counters_slot >= 0) {
        auto pit = ports_.find(replay.port_id);
        if (pit != ports_.end()) pit->second.counters_slot = ev.counters_slot;
      }
      return;
    }
    case ctl::EventType::kPortUp: {
      PortInfo info;
      info.port_id = ev.port_id;
      info.lan = ev.lan;
      info.kind = static_cast<ctl::PortKind>(ev.port_kind);
      info.counters_slot = ev.counters_slot;
      info.mac_known = ev.mac_known != 0;
      std::memcpy(info.mac.data(), ev.mac, 6);
      if (info.kind == ctl::PortKind::kVm) {
        absl::StatusOr<DataAddress> addr =
            ParseDataAddress(absl::MakeConstSpan(ev.vm_address, sizeof(ev.vm_address)));
        if (!addr.ok()) {
          LogLocked(absl::StrCat("port up with a bad address ignored: ", addr.status().ToString()));
          return;
        }
        info.vm_address = *addr;
      } else {
        info.tap_name = ev.message;
      }
      auto it = ports_.find(ev.port_id);
      if (it != ports_.end()) {
        it->second.mac_known = info.mac_known;
        it->second.mac = info.mac;
        it->second.counters_slot = info.counters_slot;
        info = it->second;
      } else {
        ports_[ev.port_id] = info;
      }
      callbacks.push_back(PortEvent{true, info, ""});
      return;
    }
    case ctl::EventType::kCaptureEnded: {
      if (ev.capture_slot >= ctl::kCaptureSlots) {
        LogLocked(absl::StrCat("capture end for slot ", ev.capture_slot, " ignored"));
        return;
      }
      CaptureSlot& c = capture_slots_[ev.capture_slot];
      if (c.running_in == 0) return;  // stopped meanwhile
      c.running_in = 0;
      if (c.session != nullptr) {
        c.session->End(absl::Status(ev.status_code > 0 && ev.status_code <= 16
                                        ? static_cast<absl::StatusCode>(ev.status_code)
                                        : absl::StatusCode::kInternal,
                                    ev.message));
      } else {
        ReleaseCaptureMemoryLocked(ev.capture_slot);
      }
      return;
    }
    case ctl::EventType::kPortDown: {
      auto it = ports_.find(ev.port_id);
      if (it == ports_.end()) return;
      callbacks.push_back(PortEvent{false, it->second, ev.message});
      impairments_.erase({ev.port_id, 0});
      impairments_.erase({ev.port_id, 1});
      ports_.erase(it);
      return;
    }
  }
  LogLocked(absl::StrCat("event of unknown type ", ev.type, " ignored"));
}

}  // namespace clownix::switchcore
