#include "switchcore/switch_engine.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace clownix::switchcore {
namespace {

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline void Add(std::atomic<uint64_t>& counter, uint64_t n) {
  // Single writer: a relaxed load and store, no locked instruction.
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

void CopyName(char* dst, size_t size, absl::string_view src) {
  std::memset(dst, 0, size);
  std::memcpy(dst, src.data(), std::min(src.size(), size - 1));
}

// A NUL-terminated string field from a request (copied out of shared memory already).
absl::StatusOr<absl::string_view> Field(const char* data, size_t size, absl::string_view what) {
  const void* nul = std::memchr(data, 0, size);
  if (nul == nullptr) return absl::InvalidArgumentError(absl::StrCat(what, " is not terminated"));
  return absl::string_view(data, static_cast<const char*>(nul) - data);
}

// Refusals of hostile peers are logged, but at most a few per second.
void LogLimited(int64_t now_ns, const std::string& line) {
  static int64_t window = 0;
  static int count = 0;
  if (now_ns - window > 1000000000) {
    window = now_ns;
    count = 0;
  }
  if (++count <= 5) fprintf(stderr, "clownix-switchcore: %s\n", line.c_str());
}

}  // namespace

SwitchEngine::SwitchEngine(const Options& options)
    : options_(options),
      peers_(geteuid(), options.vm_uids),
      slot_used_(ctl::kCounterSlots, false),
      rx_buf_(static_cast<size_t>(Port::kBatch) * FramePool::kFrameCapacity),
      pool_(options.pool_frames),
      delayed_(options.pool_frames),
      rng_(options.seed) {
  for (int i = 0; i < Port::kBatch; ++i) {
    rx_iov_[i].iov_base = &rx_buf_[static_cast<size_t>(i) * FramePool::kFrameCapacity];
    rx_iov_[i].iov_len = FramePool::kFrameCapacity;
    std::memset(&rx_msgs_[i], 0, sizeof(rx_msgs_[i]));
    rx_msgs_[i].msg_hdr.msg_iov = &rx_iov_[i];
    rx_msgs_[i].msg_hdr.msg_iovlen = 1;
  }
  dirty_.reserve(1024);
  doomed_.reserve(64);
}

absl::StatusOr<std::unique_ptr<SwitchEngine>> SwitchEngine::Create(
    const Options& options, std::unique_ptr<ctl::CtlSegment> segment, int request_eventfd,
    int event_eventfd, std::unique_ptr<ctl::CaptureSegment> capture_segment) {
  if (options.incarnation >= (1u << 24)) {
    return absl::InvalidArgumentError("incarnation must be below 2^24");
  }
  if (options.vm_uids.has_value()) {
    if (absl::Status s = PeerPolicy::ValidateRange(*options.vm_uids); !s.ok()) return s;
  }
  auto engine = std::unique_ptr<SwitchEngine>(new SwitchEngine(options));
  SwitchEngine& e = *engine;
  e.request_efd_ = request_eventfd;
  e.event_efd_ = event_eventfd;
  e.segment_ = std::move(segment);
  e.capture_segment_ = std::move(capture_segment);
  ctl::SegmentHeader* h = e.segment_->header();
  e.requests_ = std::make_unique<ctl::SpscRing>(&h->request_head, &h->request_tail,
                                                e.segment_->request_slots(), ctl::kRequestSlots);
  e.events_ = std::make_unique<ctl::SpscRing>(&h->event_head, &h->event_tail,
                                              e.segment_->event_slots(), ctl::kEventSlots);
  h->switch_pid.store(getpid());

  e.epfd_ = epoll_create1(EPOLL_CLOEXEC);
  e.timerfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  e.signalfd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (e.epfd_ < 0 || e.timerfd_ < 0 || e.signalfd_ < 0) {
    return absl::InternalError(absl::StrCat("epoll/timerfd/signalfd: ", strerror(errno)));
  }
  fcntl(request_eventfd, F_SETFL, fcntl(request_eventfd, F_GETFL) | O_NONBLOCK);
  struct {
    int fd;
    Tag tag;
  } fixed[] = {{request_eventfd, kTagRequest}, {e.timerfd_, kTagTimer}, {e.signalfd_, kTagSignal}};
  for (auto& f : fixed) {
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.u64 = Key(f.tag, 0);
    if (epoll_ctl(e.epfd_, EPOLL_CTL_ADD, f.fd, &ev) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("epoll_ctl fd ", f.fd, ": ", strerror(errno)));
    }
  }
  return engine;
}

SwitchEngine::~SwitchEngine() {
  ports_.clear();
  lans_.clear();
  for (int fd : {epfd_, timerfd_, signalfd_, request_efd_, event_efd_}) {
    if (fd >= 0) close(fd);
  }
}

absl::Status SwitchEngine::Run() {
  // Requests may have been written before we started.
  OnRequests();
  EndRound();
  while (!shutdown_) {
    if (absl::Status s = Poll(-1); !s.ok()) return s;
  }
  // Captures end without an event: the client sees the switch exit (UNAVAILABLE), not each port.
  for (uint32_t slot = 0; slot < ctl::kCaptureSlots; ++slot) {
    if (captures_[slot] != nullptr) EndCapture(slot, absl::OkStatus());
  }
  std::vector<uint64_t> ids;
  for (auto& [id, port] : ports_) ids.push_back(id);
  for (uint64_t id : ids) RemovePort(id, "switch shut down");
  lans_.clear();
  lans_by_id_.clear();
  SignalClient();
  return absl::OkStatus();
}

void SwitchEngine::SignalClient() {
  if (!events_pending_) return;
  uint64_t one = 1;
  if (write(event_efd_, &one, sizeof(one)) < 0) { /* the client is gone; nothing to tell */
  }
  events_pending_ = false;
}

absl::Status SwitchEngine::Poll(int timeout_ms) {
  SignalClient();
  if (pending_handshakes_ > 0 && (timeout_ms < 0 || timeout_ms > 100)) {
    timeout_ms = 100;  // handshake deadlines are in seconds
  }
  struct epoll_event evs[64];
  int n = epoll_wait(epfd_, evs, 64, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("epoll_wait: ", strerror(errno)));
  }
  now_ns_ = NowNs();
  for (int i = 0; i < n && !shutdown_; ++i) {
    capture_clock_.Reset();
    Dispatch(evs[i].data.u64, evs[i].events);
    EndRound();
  }
  if (pending_handshakes_ > 0) ExpireHandshakes();
  SignalClient();
  return absl::OkStatus();
}

void SwitchEngine::Dispatch(uint64_t key, uint32_t events) {
  uint64_t id = key & ((1ull << 56) - 1);
  switch (static_cast<Tag>(key >> 56)) {
    case kTagRequest:
      OnRequests();
      return;
    case kTagTimer:
      OnTimer();
      return;
    case kTagSignal: {
      struct signalfd_siginfo si;
      while (read(signalfd_, &si, sizeof(si)) == sizeof(si)) shutdown_ = true;
      return;
    }
    case kTagListen: {
      auto it = lans_by_id_.find(id);
      if (it != lans_by_id_.end()) OnListenReadable(*it->second);
      return;
    }
    case kTagHandshake:
      OnHandshakeReadable(id);
      return;
    case kTagPortData: {
      Port* port = FindPort(id);
      if (port == nullptr || port->removing) return;
      if (events & EPOLLOUT) OnPortWritable(*port);
      if ((events & (EPOLLIN | EPOLLERR)) && !port->removing) OnPortReadable(*port);
      return;
    }
    case kTagPortCtl: {
      Port* port = FindPort(id);
      if (port != nullptr && !port->removing) OnPortCtl(*port, events);
      return;
    }
  }
}

void SwitchEngine::EndRound() {
  FlushDirty();
  while (!doomed_.empty()) {
    auto doomed = std::move(doomed_);
    doomed_.clear();
    for (auto& [id, reason] : doomed) RemovePort(id, reason);
  }
  if (capture_count_ > 0) PublishCaptures();
}

// ---------------------------------------------------------------- control channel

void SwitchEngine::OnRequests() {
  uint64_t v;
  while (read(request_efd_, &v, sizeof(v)) == sizeof(v)) {
  }
  ctl::Request req;
  for (;;) {
    absl::StatusOr<bool> got = requests_->Pop(&req);
    if (!got.ok()) {
      ctl::Event ev = {};
      ev.type = static_cast<uint32_t>(ctl::EventType::kError);
      ev.status_code = static_cast<int32_t>(got.status().code());
      CopyName(ev.message, sizeof(ev.message), got.status().message());
      Emit(ev);
      requests_->Resync();
      return;
    }
    if (!*got) return;
    ctl::Event ev = {};
    ev.request_id = req.request_id;
    absl::StatusOr<std::pair<uint64_t, int>> result = HandleRequest(req);
    if (result.ok()) {
      ev.type = static_cast<uint32_t>(ctl::EventType::kAck);
      ev.port_id = result->first;
      ev.counters_slot = result->second;
    } else {
      ev.type = static_cast<uint32_t>(ctl::EventType::kError);
      ev.status_code = static_cast<int32_t>(result.status().code());
      ev.port_id = req.port_id;
      CopyName(ev.message, sizeof(ev.message), result.status().message());
    }
    Emit(ev);
    if (shutdown_) return;
  }
}

absl::StatusOr<std::pair<uint64_t, int>> SwitchEngine::HandleRequest(const ctl::Request& req) {
  switch (static_cast<ctl::RequestType>(req.type)) {
    case ctl::RequestType::kCreateLan:
      return CreateLan(req);
    case ctl::RequestType::kDeleteLan:
      if (absl::Status s = DeleteLan(req); !s.ok()) return s;
      return std::make_pair(uint64_t{0}, -1);
    case ctl::RequestType::kAttachTap:
      return AttachTap(req);
    case ctl::RequestType::kDetachTap: {
      Port* port = FindPort(req.port_id);
      if (port == nullptr || port->kind() != ctl::PortKind::kTap) {
        return absl::NotFoundError(absl::StrCat("tap port ", req.port_id, " does not exist"));
      }
      RemovePort(req.port_id, "tap detached");
      return std::make_pair(req.port_id, -1);
    }
    case ctl::RequestType::kSetImpairment:
      if (absl::Status s = SetImpairment(req); !s.ok()) return s;
      return std::make_pair(req.port_id, -1);
    case ctl::RequestType::kRestorePort:
      return RestorePort(req);
    case ctl::RequestType::kShutdown:
      shutdown_ = true;
      return std::make_pair(uint64_t{0}, -1);
    case ctl::RequestType::kStartCapture:
      return StartCapture(req);
    case ctl::RequestType::kStopCapture:
      if (absl::Status s = StopCapture(req); !s.ok()) return s;
      return std::make_pair(uint64_t{0}, -1);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown request type ", req.type));
}

absl::StatusOr<Lan*> SwitchEngine::FindLan(const char (&name)[ctl::kLanNameSize]) {
  absl::StatusOr<absl::string_view> lan = Field(name, sizeof(name), "lan name");
  if (!lan.ok()) return lan.status();
  auto it = lans_.find(*lan);
  if (it == lans_.end())
    return absl::NotFoundError(absl::StrCat("lan \"", *lan, "\" does not exist"));
  return it->second.get();
}

absl::StatusOr<std::pair<uint64_t, int>> SwitchEngine::CreateLan(const ctl::Request& req) {
  absl::StatusOr<absl::string_view> name = Field(req.lan, sizeof(req.lan), "lan name");
  if (!name.ok()) return name.status();
  if (lans_.contains(*name)) {
    return absl::AlreadyExistsError(absl::StrCat("lan \"", *name, "\" already exists"));
  }
  absl::StatusOr<std::unique_ptr<Lan>> lan =
      Lan::Create(next_lan_id_, options_.work_dir, *name, static_cast<ctl::LanMode>(req.lan_mode),
                  options_.lan_limits);
  if (!lan.ok()) return lan.status();
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = Key(kTagListen, next_lan_id_);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, (*lan)->listen_fd(), &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl: ", strerror(errno)));
  }
  lans_by_id_[next_lan_id_++] = lan->get();
  lans_[*name] = *std::move(lan);
  return std::make_pair(uint64_t{0}, -1);
}

absl::Status SwitchEngine::DeleteLan(const ctl::Request& req) {
  absl::StatusOr<Lan*> lan = FindLan(req.lan);
  if (!lan.ok()) return lan.status();
  EndCaptures(**lan, 0,
              absl::NotFoundError(absl::StrCat("lan \"", (*lan)->name(), "\" was deleted")));
  std::vector<uint64_t> ids;
  for (Port* p : (*lan)->active()) ids.push_back(p->id());
  for (uint64_t id : ids) RemovePort(id, "lan deleted");
  for (auto& [hs_id, hs] : (*lan)->handshakes()) {
    handshakes_.erase(hs_id);
    --pending_handshakes_;
  }
  lans_by_id_.erase((*lan)->id());
  lans_.erase((*lan)->name());
  return absl::OkStatus();
}

absl::Status SwitchEngine::CheckNewPortId(uint64_t id) {
  if (id == 0 || id >= (1ull << 56)) {
    return absl::InvalidArgumentError(absl::StrCat("port id ", id, " is out of range"));
  }
  if (ports_.contains(id)) {
    return absl::AlreadyExistsError(absl::StrCat("port ", id, " already exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<uint64_t, int>> SwitchEngine::AttachTap(const ctl::Request& req) {
  absl::StatusOr<Lan*> lan = FindLan(req.lan);
  if (!lan.ok()) return lan.status();
  absl::StatusOr<absl::string_view> name = Field(req.tap, sizeof(req.tap), "tap name");
  if (!name.ok()) return name.status();
  uint64_t id = req.port_id;
  if (id == 0) {
    id = NewPortId();
  } else if (absl::Status s = CheckNewPortId(id); !s.ok()) {
    return s;
  }
  for (auto& [pid, p] : ports_) {
    if (p->tap != nullptr && p->tap->name() == *name) {
      return absl::AlreadyExistsError(absl::StrCat("tap \"", *name, "\" is already attached"));
    }
  }
  absl::StatusOr<std::unique_ptr<TapDevice>> tap = TapDevice::Create(*name);
  if (!tap.ok()) return tap.status();
  auto port = std::make_unique<Port>(id, ctl::PortKind::kTap, *lan);
  port->fd = (*tap)->fd();
  port->tap = *std::move(tap);
  absl::StatusOr<Port*> p = Register(std::move(port), req.counters_slot);
  if (!p.ok()) return p.status();
  return std::make_pair(id, (*p)->counters_slot);
}

absl::StatusOr<std::pair<uint64_t, int>> SwitchEngine::RestorePort(const ctl::Request& req) {
  absl::StatusOr<Lan*> lan = FindLan(req.lan);
  if (!lan.ok()) return lan.status();
  if (absl::Status s = CheckNewPortId(req.port_id); !s.ok()) return s;
  absl::StatusOr<DataAddress> addr =
      ParseDataAddress(absl::MakeConstSpan(req.vm_address, sizeof(req.vm_address)));
  if (!addr.ok()) return addr.status();
  absl::StatusOr<Port*> port = AddVmPort(**lan, *addr, req.port_id, req.counters_slot);
  if (!port.ok()) return port.status();
  if (req.mac_known && !(req.mac[0] & 1)) {
    std::memcpy((*port)->mac, req.mac, 6);
    (*port)->mac_known = true;
    if ((*lan)->mode() == ctl::LanMode::kSwitch) {
      (*lan)->macs().Learn(req.mac, (*port)->index, NowNs());
    }
  }
  return std::make_pair(req.port_id, (*port)->counters_slot);
}

absl::Status SwitchEngine::SetImpairment(const ctl::Request& req) {
  Port* port = FindPort(req.port_id);
  if (port == nullptr)
    return absl::NotFoundError(absl::StrCat("port ", req.port_id, " does not exist"));
  if (req.direction > static_cast<uint32_t>(ctl::Direction::kEgress)) {
    return absl::InvalidArgumentError(absl::StrCat("direction ", req.direction));
  }
  ctl::Impairment params = req.impairment;
  if (absl::Status s = Impairment::Validate(params); !s.ok()) return s;
  port->impairment[req.direction].Set(params);
  return absl::OkStatus();
}

void SwitchEngine::Emit(ctl::Event& event) {
  absl::StatusOr<bool> pushed = events_->Push(&event);
  if (!pushed.ok() || !*pushed) {
    segment_->header()->events_lost.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  events_pending_ = true;
}

void SwitchEngine::EmitPortUp(const Port& port) {
  ctl::Event ev = {};
  ev.type = static_cast<uint32_t>(ctl::EventType::kPortUp);
  ev.port_id = port.id();
  ev.port_kind = static_cast<uint32_t>(port.kind());
  ev.counters_slot = port.counters_slot;
  CopyName(ev.lan, sizeof(ev.lan), port.lan()->name());
  std::memcpy(ev.mac, port.mac, 6);
  ev.mac_known = port.mac_known;
  std::memcpy(ev.vm_address, &port.vm_address.addr, sizeof(ev.vm_address));
  if (port.tap != nullptr) CopyName(ev.message, sizeof(ev.message), port.tap->name());
  Emit(ev);
}

void SwitchEngine::EmitPortDown(const Port& port, absl::string_view reason) {
  ctl::Event ev = {};
  ev.type = static_cast<uint32_t>(ctl::EventType::kPortDown);
  ev.port_id = port.id();
  ev.port_kind = static_cast<uint32_t>(port.kind());
  ev.counters_slot = port.counters_slot;
  CopyName(ev.lan, sizeof(ev.lan), port.lan()->name());
  CopyName(ev.message, sizeof(ev.message), reason);
  Emit(ev);
}

// ---------------------------------------------------------------- captures

absl::StatusOr<std::pair<uint64_t, int>> SwitchEngine::StartCapture(const ctl::Request& req) {
  if (capture_segment_ == nullptr) {
    return absl::FailedPreconditionError("this switch has no capture segment (--capture_fd)");
  }
  uint32_t slot = req.capture_slot;
  if (slot >= ctl::kCaptureSlots) {
    return absl::InvalidArgumentError(absl::StrCat("capture slot ", slot, " is out of range"));
  }
  if (captures_[slot] != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("capture slot ", slot, " is busy"));
  }
  absl::StatusOr<Lan*> lan = FindLan(req.lan);
  if (!lan.ok()) return lan.status();
  Port* port = nullptr;
  if (req.port_id != 0) {
    port = FindPort(req.port_id);
    if (port == nullptr || port->lan() != *lan || port->removing) {
      return absl::NotFoundError(
          absl::StrCat("port ", req.port_id, " is not on lan \"", (*lan)->name(), "\""));
    }
  } else if (req.mac_known && (req.mac[0] & 1)) {
    return absl::InvalidArgumentError("a capture binds only to a unicast MAC");
  }
  absl::StatusOr<std::unique_ptr<CaptureWriter>> writer = CaptureWriter::Create(
      capture_segment_->slot(slot), capture_segment_->program(slot), capture_segment_->ring(slot));
  if (!writer.ok()) return writer.status();
  CaptureWriter& w = **writer;
  w.request_id = req.request_id;
  w.lan = *lan;
  if (port != nullptr) {
    w.Bind(port->id());
  } else if (req.mac_known) {
    w.mac_pending = true;
    std::memcpy(w.mac, req.mac, 6);
    // An endpoint already up with that MAC: bind to it now.
    for (Port* p : (*lan)->active()) {
      if (p->mac_known && !p->removing && std::memcmp(p->mac, w.mac, 6) == 0) {
        port = p;
        w.Bind(p->id());
        break;
      }
    }
  }
  if (port != nullptr) ++port->captures;
  (*lan)->captures().push_back(&w);
  captures_[slot] = *std::move(writer);
  ++capture_count_;
  return std::make_pair(w.port_id, -1);
}

absl::Status SwitchEngine::StopCapture(const ctl::Request& req) {
  uint32_t slot = req.capture_slot;
  if (slot >= ctl::kCaptureSlots || captures_[slot] == nullptr) {
    return absl::NotFoundError(absl::StrCat("no capture runs in slot ", slot));
  }
  EndCapture(slot, absl::OkStatus());
  return absl::OkStatus();
}

void SwitchEngine::EndCapture(uint32_t slot, const absl::Status& why) {
  CaptureWriter& w = *captures_[slot];
  w.Publish();  // every record before the event that says it ended
  std::vector<CaptureWriter*>& list = w.lan->captures();
  list.erase(std::find(list.begin(), list.end(), &w));
  if (w.port_id != 0) {
    if (Port* port = FindPort(w.port_id); port != nullptr) --port->captures;
  }
  if (!why.ok()) {
    ctl::Event ev = {};
    ev.type = static_cast<uint32_t>(ctl::EventType::kCaptureEnded);
    ev.request_id = w.request_id;
    ev.port_id = w.port_id;
    ev.capture_slot = static_cast<uint8_t>(slot);
    ev.counters_slot = -1;
    ev.status_code = static_cast<int32_t>(why.code());
    CopyName(ev.lan, sizeof(ev.lan), w.lan->name());
    CopyName(ev.message, sizeof(ev.message), why.message());
    Emit(ev);
  }
  captures_[slot].reset();
  --capture_count_;
}

void SwitchEngine::EndCaptures(const Lan& lan, uint64_t port_id, const absl::Status& why) {
  for (uint32_t slot = 0; slot < ctl::kCaptureSlots; ++slot) {
    CaptureWriter* w = captures_[slot].get();
    if (w != nullptr && w->lan == &lan && (port_id == 0 || w->port_id == port_id)) {
      EndCapture(slot, why);
    }
  }
}

void SwitchEngine::CaptureIngress(Port& src, const uint8_t* frame, size_t len) {
  for (CaptureWriter* w : src.lan()->captures()) {
    if (w->mac_pending) {
      if (std::memcmp(frame + 6, w->mac, 6) != 0) continue;
      w->Bind(src.id());  // before this frame is forwarded: the capture shows it
      ++src.captures;
    } else if (w->port_id != 0 && w->port_id != src.id()) {
      continue;
    }
    w->Offer(src.id(), ctl::Direction::kIngress, capture_clock_, frame, len);
  }
}

void SwitchEngine::CaptureEgress(Port& dst, const uint8_t* frame, size_t len) {
  for (CaptureWriter* w : dst.lan()->captures()) {
    if (w->port_id == dst.id()) {
      w->Offer(dst.id(), ctl::Direction::kEgress, capture_clock_, frame, len);
    }
  }
}

void SwitchEngine::PublishCaptures() {
  for (auto& w : captures_) {
    if (w != nullptr) w->Publish();
  }
}

// ---------------------------------------------------------------- handshakes

void SwitchEngine::OnListenReadable(Lan& lan) {
  for (int i = 0; i < 16; ++i) {
    int fd = accept4(lan.listen_fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or the peer gave up already
    // The socket is connectable by every uid (lan.h): who it is decides, before anything else.
    absl::StatusOr<PeerCredentials> peer = PeerPolicy::Credentials(fd);
    if (!peer.ok() || !peers_.Allows(peer->uid)) {
      // Counted before the close, so that whoever sees the connection end sees the count too.
      Add(segment_->header()->peers_refused, 1);
      close(fd);
      std::optional<std::string> line = peers_.OnRefused(
          peer.ok() ? std::optional<PeerCredentials>(*peer) : std::nullopt, lan.name());
      if (line.has_value()) fprintf(stderr, "clownix-switchcore: %s\n", line->c_str());
      continue;
    }
    if (static_cast<int>(lan.handshakes().size()) >= lan.limits().max_handshakes) {
      LogLimited(now_ns_, absl::StrCat("lan \"", lan.name(),
                                       "\": too many handshakes in progress, connection refused"));
      close(fd);
      continue;
    }
    uint64_t hs_id = next_hs_id_++;
    struct epoll_event ev = {};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = Key(kTagHandshake, hs_id);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    lan.handshakes()[hs_id] =
        std::make_unique<Handshake>(fd, now_ns_ + options_.handshake_timeout_ns);
    handshakes_[hs_id] = PendingHandshake{&lan, peers_.Privileged(peer->uid)};
    ++pending_handshakes_;
    OnHandshakeReadable(hs_id);  // the request is usually there already
  }
}

void SwitchEngine::DropHandshake(Lan& lan, uint64_t hs_id) {
  lan.handshakes().erase(hs_id);  // closes the socket, which leaves the epoll set
  handshakes_.erase(hs_id);
  --pending_handshakes_;
}

void SwitchEngine::OnHandshakeReadable(uint64_t hs_id) {
  auto it = handshakes_.find(hs_id);
  if (it == handshakes_.end()) return;
  Lan& lan = *it->second.lan;
  Handshake& hs = *lan.handshakes()[hs_id];
  absl::StatusOr<bool> done = hs.OnReadable();
  if (done.ok() && *done && !it->second.privileged_peer && !hs.address().IsAbstract()) {
    // The switch runs as root: it must not connect to a filesystem socket that the VM's uid could
    // not reach itself. UML always names an abstract address.
    done = absl::PermissionDeniedError(absl::StrCat(
        "a VM may name only an abstract data address, not ", AddressToString(hs.address())));
  }
  if (!done.ok()) {
    LogLimited(now_ns_, absl::StrCat("lan \"", lan.name(),
                                     "\": handshake refused: ", done.status().message()));
    DropHandshake(lan, hs_id);
    return;
  }
  if (*done) CompleteHandshake(lan, hs_id);
}

void SwitchEngine::CompleteHandshake(Lan& lan, uint64_t hs_id) {
  Handshake& hs = *lan.handshakes()[hs_id];
  uint64_t id = NewPortId();
  absl::StatusOr<Port*> port = AddVmPort(lan, hs.address(), id, -1);
  if (!port.ok()) {
    LogLimited(now_ns_,
               absl::StrCat("lan \"", lan.name(), "\": port refused: ", port.status().message()));
    DropHandshake(lan, hs_id);
    return;
  }
  absl::Status sent = hs.SendReply(PortDataAddress(options_.work_dir, lan.name(), hs.address()));
  if (!sent.ok()) {
    DropHandshake(lan, hs_id);
    RemovePort(id, "handshake reply failed");
    return;
  }
  // The stream stays open: its end means the NIC is gone.
  int ctl_fd = hs.Release();
  DropHandshake(lan, hs_id);
  (*port)->ctl_fd = ctl_fd;
  struct epoll_event ev = {};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = Key(kTagPortCtl, id);
  epoll_ctl(epfd_, EPOLL_CTL_MOD, ctl_fd, &ev);  // still registered from the handshake
  EmitPortUp(**port);
}

void SwitchEngine::ExpireHandshakes() {
  for (auto& [name, lan] : lans_) {
    std::vector<uint64_t> expired;
    for (auto& [hs_id, hs] : lan->handshakes()) {
      if (hs->deadline_ns() < now_ns_) expired.push_back(hs_id);
    }
    for (uint64_t hs_id : expired) {
      LogLimited(now_ns_, absl::StrCat("lan \"", lan->name(), "\": handshake timed out"));
      DropHandshake(*lan, hs_id);
    }
  }
}

// ---------------------------------------------------------------- ports

absl::StatusOr<Port*> SwitchEngine::AddVmPort(Lan& lan, const DataAddress& vm_address, uint64_t id,
                                              int wanted_slot) {
  for (Port* p : lan.active()) {
    if (p->kind() == ctl::PortKind::kVm && p->vm_address == vm_address) {
      return absl::AlreadyExistsError(
          absl::StrCat("VM address ", AddressToString(vm_address), " already has port ", p->id()));
    }
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ResourceExhaustedError(absl::StrCat("socket: ", strerror(errno)));
  auto port = std::make_unique<Port>(id, ctl::PortKind::kVm, &lan);
  port->fd = fd;
  port->vm_address = vm_address;
  int sndbuf = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  DataAddress mine = PortDataAddress(options_.work_dir, lan.name(), vm_address);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&mine.addr), sizeof(mine.addr)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("bind data address ", AddressToString(mine), ": ", strerror(errno)));
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&vm_address.addr), sizeof(vm_address.addr)) !=
      0) {
    return absl::FailedPreconditionError(
        absl::StrCat("VM data address ", AddressToString(vm_address), ": ", strerror(errno)));
  }
  return Register(std::move(port), wanted_slot);
}

absl::StatusOr<Port*> SwitchEngine::Register(std::unique_ptr<Port> port, int wanted_slot) {
  Lan& lan = *port->lan();
  int index = lan.AddPort(port.get());
  if (index < 0) {
    return absl::ResourceExhaustedError(absl::StrCat("lan \"", lan.name(), "\" has its maximum of ",
                                                     lan.limits().max_ports, " ports"));
  }
  port->index = index;
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = Key(kTagPortData, port->id());
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, port->fd, &ev) != 0) {
    lan.RemovePort(index);
    return absl::InternalError(absl::StrCat("epoll_ctl: ", strerror(errno)));
  }
  int slot = -1;
  if (wanted_slot >= 0 && wanted_slot < static_cast<int>(ctl::kCounterSlots) &&
      !slot_used_[wanted_slot]) {
    slot = wanted_slot;  // a restored port keeps counting where it was
  } else {
    for (int i = 0; i < static_cast<int>(ctl::kCounterSlots); ++i) {
      if (!slot_used_[i]) {
        slot = i;
        ctl::PortCounters* c = segment_->counters(i);
        for (auto* a : {&c->rx_frames, &c->rx_bytes, &c->tx_frames, &c->tx_bytes}) a->store(0);
        for (auto& d : c->drops) d.store(0);
        break;
      }
    }
  }
  if (slot >= 0) {
    slot_used_[slot] = true;
    port->counters_slot = slot;
    port->counters = segment_->counters(slot);
    port->counters->port_id.store(port->id(), std::memory_order_release);
  } else {
    port->counters = &spare_counters_;
  }
  Port* raw = port.get();
  ports_[raw->id()] = std::move(port);
  // The forwarding path appends to dirty_ without allocating: room for every port, made here.
  if (dirty_.capacity() < ports_.size()) dirty_.reserve(2 * ports_.size());
  return raw;
}

uint64_t SwitchEngine::NewPortId() {
  // Restored ports keep ids from earlier incarnations (or an earlier client): skip any in use.
  uint64_t id;
  do {
    id = (static_cast<uint64_t>(options_.incarnation) << 32) | (next_port_++ & 0xffffffffu);
  } while (id == 0 || ports_.contains(id));
  return id;
}

Port* SwitchEngine::FindPort(uint64_t id) {
  auto it = ports_.find(id);
  return it == ports_.end() ? nullptr : it->second.get();
}

void SwitchEngine::Doom(Port& port, absl::string_view reason) {
  if (port.removing) return;
  port.removing = true;
  doomed_.emplace_back(port.id(), std::string(reason));
}

void SwitchEngine::RemovePort(uint64_t id, absl::string_view reason) {
  auto it = ports_.find(id);
  if (it == ports_.end()) return;
  Port& port = *it->second;
  if (port.captures > 0) {
    EndCaptures(*port.lan(), port.id(), absl::AbortedError(absl::StrCat("port down: ", reason)));
  }
  EmitPortDown(port, reason);
  port.lan()->RemovePort(port.index);
  while (port.backlog_count > 0) {
    pool_.Put(port.backlog[port.backlog_head]);
    port.backlog_head = (port.backlog_head + 1) % Port::kBacklog;
    --port.backlog_count;
  }
  if (port.counters_slot >= 0) {
    port.counters->port_id.store(0, std::memory_order_release);
    slot_used_[port.counters_slot] = false;
  }
  ports_.erase(it);  // closes the sockets, which leave the epoll set
}

// ---------------------------------------------------------------- forwarding

void SwitchEngine::Drop(Port& port, uint32_t cause, uint64_t n) {
  Add(port.counters->drops[cause], n);
}

void SwitchEngine::OnPortReadable(Port& port) {
  if (port.kind() == ctl::PortKind::kTap) {
    // A tap gives one frame per read; take a batch's worth per wake-up, all into the same
    // receive buffers so that the transmit batches can point at them.
    int i = 0;
    for (; i < Port::kBatch; ++i) {
      ssize_t n = read(port.fd, rx_iov_[i].iov_base, FramePool::kFrameCapacity);
      if (n < 0) break;
      Ingress(port, static_cast<uint8_t*>(rx_iov_[i].iov_base), n,
              n >= static_cast<ssize_t>(FramePool::kFrameCapacity), false);
    }
    return;
  }
  int n = recvmmsg(port.fd, rx_msgs_, Port::kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) {
    if (n < 0 && errno != EAGAIN && errno != EINTR) Doom(port, strerror(errno));
    return;
  }
  for (int i = 0; i < n; ++i) {
    Ingress(port, static_cast<uint8_t*>(rx_iov_[i].iov_base), rx_msgs_[i].msg_len,
            rx_msgs_[i].msg_hdr.msg_flags & MSG_TRUNC, false);
  }
}

void SwitchEngine::Ingress(Port& src, uint8_t* frame, size_t len, bool truncated, bool held) {
  if (!held) {
    Add(src.counters->rx_frames, 1);
    Add(src.counters->rx_bytes, len);
  }
  if (len < kMinFrameSize) return Drop(src, ctl::kDropTooShort);
  if (truncated || len > kMaxFrameSize) return Drop(src, ctl::kDropTooLong);
  if (src.lan()->has_captures() && !held) CaptureIngress(src, frame, len);
  if (!held && src.impairment[0].active()) {
    return Hold(src, ctl::Direction::kIngress, frame, len);
  }
  if (MacTable::IsMulticast(frame + 6)) return Drop(src, ctl::kDropBadSource);
  Lan& lan = *src.lan();
  if (lan.mode() == ctl::LanMode::kSwitch) {
    MacTable::LearnResult learned = lan.macs().Learn(frame + 6, src.index, now_ns_);
    if (!src.mac_known && learned != MacTable::LearnResult::kQuotaExceeded) {
      std::memcpy(src.mac, frame + 6, 6);
      src.mac_known = true;
      EmitPortUp(src);
    }
    if (!MacTable::IsMulticast(frame)) {
      int dst = lan.macs().Lookup(frame, now_ns_);
      if (dst != MacTable::kNoPort) {
        if (dst != src.index) Egress(*lan.port(dst), frame, len);
        return;
      }
    }
  } else if (!src.mac_known) {
    std::memcpy(src.mac, frame + 6, 6);
    src.mac_known = true;
    EmitPortUp(src);
  }
  for (Port* p : lan.active()) {
    if (p != &src) Egress(*p, frame, len);
  }
}

void SwitchEngine::Egress(Port& dst, const uint8_t* frame, size_t len) {
  if (dst.removing) return;
  if (dst.impairment[1].active()) return Hold(dst, ctl::Direction::kEgress, frame, len);
  Transmit(dst, frame, len);
}

void SwitchEngine::Transmit(Port& dst, const uint8_t* frame, size_t len) {
  if (dst.kind() == ctl::PortKind::kTap) {
    ssize_t n = write(dst.fd, frame, len);
    if (n == static_cast<ssize_t>(len)) {
      Add(dst.counters->tx_frames, 1);
      Add(dst.counters->tx_bytes, len);
      if (dst.captures > 0) CaptureEgress(dst, frame, len);
    } else {
      Drop(dst, errno == EAGAIN ? ctl::kDropQueueFull : ctl::kDropTapError);
    }
    return;
  }
  if (dst.backlog_count > 0) return Backlog(dst, frame, len);  // keep the order
  if (dst.tx_count == Port::kBatch) FlushPort(dst);
  if (dst.backlog_count > 0) return Backlog(dst, frame, len);
  int i = dst.tx_count++;
  dst.tx_iov[i].iov_base = const_cast<uint8_t*>(frame);
  dst.tx_iov[i].iov_len = len;
  std::memset(&dst.tx_msgs[i].msg_hdr, 0, sizeof(dst.tx_msgs[i].msg_hdr));
  dst.tx_msgs[i].msg_hdr.msg_iov = &dst.tx_iov[i];
  dst.tx_msgs[i].msg_hdr.msg_iovlen = 1;
  if (!dst.dirty) {
    dst.dirty = true;
    dirty_.push_back(&dst);
  }
}

void SwitchEngine::Backlog(Port& dst, const uint8_t* frame, size_t len) {
  if (dst.backlog_count == Port::kBacklog) return Drop(dst, ctl::kDropQueueFull);
  int f = pool_.Get();
  if (f == FramePool::kNone) return Drop(dst, ctl::kDropQueueFull);
  std::memcpy(pool_.data(f), frame, len);
  pool_.length(f) = len;
  dst.backlog[(dst.backlog_head + dst.backlog_count) % Port::kBacklog] = f;
  ++dst.backlog_count;
  SetEpollOut(dst, true);
}

void SwitchEngine::SetEpollOut(Port& port, bool on) {
  if (port.epollout_armed == on) return;
  struct epoll_event ev = {};
  ev.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  ev.data.u64 = Key(kTagPortData, port.id());
  epoll_ctl(epfd_, EPOLL_CTL_MOD, port.fd, &ev);
  port.epollout_armed = on;
}

void SwitchEngine::FlushPort(Port& port) {
  int n = port.tx_count, i = 0;
  port.tx_count = 0;
  while (i < n) {
    // One frame (the latency-sensitive case) goes with send(): no mmsghdr to copy in.
    int r =
        n - i == 1
            ? (send(port.fd, port.tx_iov[i].iov_base, port.tx_iov[i].iov_len, MSG_DONTWAIT) < 0 ? -1
                                                                                                : 1)
            : sendmmsg(port.fd, port.tx_msgs + i, n - i, MSG_DONTWAIT);
    if (r > 0) {
      uint64_t bytes = 0;
      for (int k = i; k < i + r; ++k) bytes += port.tx_iov[k].iov_len;
      if (port.captures > 0) {
        for (int k = i; k < i + r; ++k) {
          CaptureEgress(port, static_cast<const uint8_t*>(port.tx_iov[k].iov_base),
                        port.tx_iov[k].iov_len);
        }
      }
      Add(port.counters->tx_frames, r);
      Add(port.counters->tx_bytes, bytes);
      i += r;
      continue;
    }
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == ENOBUFS) {
      // The VM's queue is full: keep the rest, in order, until EPOLLOUT says there is room.
      for (; i < n; ++i) {
        Backlog(port, static_cast<uint8_t*>(port.tx_iov[i].iov_base), port.tx_iov[i].iov_len);
      }
      break;
    }
    if (e == ECONNREFUSED || e == ECONNRESET || e == ENOTCONN || e == EPIPE) {
      Drop(port, ctl::kDropPeerGone, n - i);
      Doom(port, "VM data socket is gone");
      break;
    }
    Drop(port, ctl::kDropTooLong);  // EMSGSIZE and the like: this frame only
    ++i;
  }
}

void SwitchEngine::FlushDirty() {
  capture_clock_.Reset();
  for (size_t k = 0; k < dirty_.size(); ++k) {
    Port* p = dirty_[k];
    p->dirty = false;
    if (!p->removing) {
      FlushPort(*p);
    } else {
      p->tx_count = 0;
    }
  }
  dirty_.clear();
}

void SwitchEngine::OnPortWritable(Port& port) {
  while (port.backlog_count > 0) {
    int n = std::min(port.backlog_count, Port::kBatch);
    for (int k = 0; k < n; ++k) {
      int f = port.backlog[(port.backlog_head + k) % Port::kBacklog];
      port.tx_iov[k].iov_base = pool_.data(f);
      port.tx_iov[k].iov_len = pool_.length(f);
      std::memset(&port.tx_msgs[k].msg_hdr, 0, sizeof(port.tx_msgs[k].msg_hdr));
      port.tx_msgs[k].msg_hdr.msg_iov = &port.tx_iov[k];
      port.tx_msgs[k].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(port.fd, port.tx_msgs, n, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) return;  // still full
      Drop(port, ctl::kDropPeerGone, port.backlog_count);
      Doom(port, "VM data socket is gone");
      return;
    }
    uint64_t bytes = 0;
    for (int k = 0; k < r; ++k) {
      bytes += port.tx_iov[k].iov_len;
      if (port.captures > 0) {
        CaptureEgress(port, static_cast<const uint8_t*>(port.tx_iov[k].iov_base),
                      port.tx_iov[k].iov_len);
      }
      pool_.Put(port.backlog[port.backlog_head]);
      port.backlog_head = (port.backlog_head + 1) % Port::kBacklog;
      --port.backlog_count;
    }
    Add(port.counters->tx_frames, r);
    Add(port.counters->tx_bytes, bytes);
    if (r < n) return;
  }
  SetEpollOut(port, false);
}

void SwitchEngine::OnPortCtl(Port& port, uint32_t events) {
  // UML says nothing after the handshake: discard whatever comes, a bounded amount per wake-up (a
  // peer that keeps writing gets its turn again from the level-triggered epoll, like any port).
  for (int i = 0; i < kCtlReadsPerWakeup; ++i) {
    ssize_t n = recv(port.ctl_fd, scratch_, sizeof(scratch_), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      Doom(port, "control stream closed");
    }
    return;
  }
}

// ---------------------------------------------------------------- impairments

void SwitchEngine::Hold(Port& port, ctl::Direction dir, const uint8_t* frame, size_t len) {
  Impairment& imp = port.impairment[static_cast<int>(dir)];
  Impairment::Plan plan = imp.Decide(now_ns_, len, rng_);
  if (plan.copies == 0) return Drop(port, plan.drop_cause);
  for (int c = 0; c < plan.copies; ++c) {
    int f = pool_.Get();
    if (f == FramePool::kNone) {
      imp.Release();
      Drop(port, ctl::kDropImpairQueue);
      continue;
    }
    uint8_t* data = pool_.data(f);
    std::memcpy(data, frame, len);
    pool_.length(f) = len;
    if (plan.corrupt[c]) {
      uint64_t bit = rng_.Below(len * 8);
      data[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    }
    delayed_.Push(plan.due_ns[c], port.id(), f, static_cast<uint32_t>(dir));
  }
  ArmTimer();
}

void SwitchEngine::ArmTimer() {
  if (delayed_.empty()) return;
  int64_t due = std::max<int64_t>(delayed_.top().due_ns, 1);
  if (timer_armed_ns_ != 0 && timer_armed_ns_ <= due) return;
  struct itimerspec its = {};
  its.it_value.tv_sec = due / 1000000000;
  its.it_value.tv_nsec = due % 1000000000;
  timerfd_settime(timerfd_, TFD_TIMER_ABSTIME, &its, nullptr);
  timer_armed_ns_ = due;
}

void SwitchEngine::OnTimer() {
  uint64_t expirations;
  if (read(timerfd_, &expirations, sizeof(expirations)) < 0) { /* spurious: fine */
  }
  timer_armed_ns_ = 0;
  now_ns_ = NowNs();
  capture_clock_.Reset();
  int32_t done[Port::kBatch];
  while (!delayed_.empty() && delayed_.top().due_ns <= now_ns_) {
    int count = 0;
    while (count < Port::kBatch && !delayed_.empty() && delayed_.top().due_ns <= now_ns_) {
      DelayQueue::Item item = delayed_.Pop();
      done[count++] = item.frame;
      Port* port = FindPort(item.port_id);
      if (port == nullptr) continue;
      port->impairment[item.direction].Release();
      if (port->removing) continue;
      uint8_t* data = pool_.data(item.frame);
      size_t len = pool_.length(item.frame);
      if (item.direction == static_cast<uint32_t>(ctl::Direction::kIngress)) {
        Ingress(*port, data, len, false, true);
      } else {
        Transmit(*port, data, len);
      }
    }
    FlushDirty();  // the batches point at these pool frames: send before freeing them
    for (int k = 0; k < count; ++k) pool_.Put(done[k]);
  }
  ArmTimer();
}

}  // namespace clownix::switchcore
