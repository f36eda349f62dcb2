#include "server/watch_reactor.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/grpc_status.h"

namespace clownix::server {
namespace {

using clownix::v1::Change;
using clownix::v1::Event;

constexpr absl::Duration kDefaultHeartbeat = absl::Seconds(5);

// The labels an object had in this event (for objects it deletes), else in the current state.
template <typename T>
const T* ObjectIn(const Event& event, const std::string& name, const T* (*pick)(const Change&)) {
  for (const Change& change : event.changes()) {
    const T* object = pick(change);
    if (object && object->name() == name) return object;
  }
  return nullptr;
}

const clownix::v1::Vm* PickVm(const Change& c) { return c.has_vm() ? &c.vm() : nullptr; }
const clownix::v1::Lan* PickLan(const Change& c) { return c.has_lan() ? &c.lan() : nullptr; }
const clownix::v1::Tap* PickTap(const Change& c) { return c.has_tap() ? &c.tap() : nullptr; }

bool LinkChangeMatches(const clownix::v1::Link& link, const Event& event,
                       const TopologyState& state, const LabelSelector& selector) {
  const auto* lan = ObjectIn(event, link.lan(), &PickLan);
  if (!lan) lan = state.FindLan(link.lan());
  if (lan && selector.Matches(lan->labels())) return true;
  const auto& endpoint = link.endpoint();
  if (endpoint.has_nic()) {
    const auto* vm = ObjectIn(event, endpoint.nic().vm(), &PickVm);
    if (!vm) vm = state.FindVm(endpoint.nic().vm());
    return vm && selector.Matches(vm->labels());
  }
  const auto* tap = ObjectIn(event, endpoint.tap(), &PickTap);
  if (!tap) tap = state.FindTap(endpoint.tap());
  return tap && selector.Matches(tap->labels());
}

// Clears Vm.guest in what `response` carries (WatchRequest.omit_guest_config).
void OmitGuestConfig(clownix::v1::WatchResponse& response) {
  if (response.has_snapshot()) {
    for (clownix::v1::Vm& vm : *response.mutable_snapshot()->mutable_topology()->mutable_vms()) {
      vm.clear_guest();
    }
  }
  for (Event& event : *response.mutable_events()) {
    for (Change& change : *event.mutable_changes()) {
      if (change.has_vm()) change.mutable_vm()->clear_guest();
    }
  }
}

}  // namespace

WatchReactor::WatchReactor(TopologyStore* store, const clownix::v1::WatchRequest& request,
                           Limits limits)
    : store_(store), limits_(limits) {
  absl::MutexLock lock(&mu_);
  last_write_ = absl::Now();
  uint32_t interval_ms = request.heartbeat_interval_ms();
  if (interval_ms != 0 && (interval_ms < 100 || interval_ms > 60000)) {
    FinishLocked(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("heartbeat_interval_ms ", interval_ms, " is out of range 100..60000")));
    return;
  }
  heartbeat_interval_ = interval_ms ? absl::Milliseconds(interval_ms) : kDefaultHeartbeat;
  absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(request.label_selector());
  if (!selector.ok()) {
    FinishLocked(ToGrpcStatus(selector.status()));
    return;
  }
  if (!selector->MatchesAll()) selector_ = *std::move(selector);
  omit_guest_config_ = request.omit_guest_config();
  covered_revision_ = request.since_revision();
  subscribed_ = true;
  // The hub may call OnEvents (replayed history) from inside Subscribe: release mu_ first. The
  // hub's lock is never taken while holding mu_ (the hub calls in with its lock held).
  mu_.Unlock();
  WatchHub::SubscribeResult start = store_->hub().Subscribe(this, request.since_revision());
  uint64_t published = store_->hub().last_revision();
  mu_.Lock();
  if (start.needs_snapshot) {
    snapshot_reason_ = start.reason;
  } else if (covered_revision_ == request.since_revision()) {  // the hub replayed nothing
    // Resumed with nothing missed: a heartbeat at once tells the client it is connected.
    heartbeat_revision_ = std::max(request.since_revision(), published);
  }
  MaybeWriteLocked();
}

void WatchReactor::OnEvents(const std::vector<EventPtr>& events) {
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  for (const EventPtr& event : events) {
    if (event->revision() <= covered_revision_) continue;
    pending_.push_back(event);
    covered_revision_ = event->revision();
  }
  if (pending_.size() > limits_.queue_limit) {
    // Too far behind: what it misses is replaced by a snapshot taken when it can write again.
    pending_.clear();
    snapshot_reason_ = clownix::v1::Snapshot::FELL_BEHIND;
  }
  MaybeWriteLocked();
}

void WatchReactor::OnTick(absl::Time now, uint64_t revision) {
  absl::MutexLock lock(&mu_);
  if (finished_ || writing_ || now - last_write_ < heartbeat_interval_) return;
  heartbeat_revision_ = std::max(revision, covered_revision_);
  MaybeWriteLocked();
}

void WatchReactor::OnHubShutdown() {
  absl::MutexLock lock(&mu_);
  subscribed_ = false;  // the hub forgot us already
  FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "clownixd is shutting down"));
}

void WatchReactor::AppendFiltered(const Event& event, const TopologyState& state) {
  if (!selector_) {
    *response_.add_events() = event;
    return;
  }
  Event* out = nullptr;
  for (const Change& change : event.changes()) {
    bool match = false;
    switch (change.object_case()) {
      case Change::kVm:
        match = selector_->Matches(change.vm().labels());
        break;
      case Change::kLan:
        match = selector_->Matches(change.lan().labels());
        break;
      case Change::kTap:
        match = selector_->Matches(change.tap().labels());
        break;
      case Change::kLink:
        match = LinkChangeMatches(change.link(), event, state, *selector_);
        break;
      case Change::OBJECT_NOT_SET:
        break;
    }
    if (!match) continue;
    if (!out) {
      out = response_.add_events();
      out->set_revision(event.revision());
      out->set_time_us(event.time_us());
    }
    *out->add_changes() = change;
  }
}

void WatchReactor::MaybeWriteLocked() {
  if (writing_ || finished_) return;
  response_.Clear();
  if (snapshot_reason_) {
    clownix::v1::Snapshot* snapshot = response_.mutable_snapshot();
    snapshot->set_reason(*snapshot_reason_);
    *snapshot->mutable_topology() = store_->Snapshot(selector_ ? &*selector_ : nullptr);
    snapshot_reason_.reset();
    uint64_t at = snapshot->topology().revision();
    while (!pending_.empty() && pending_.front()->revision() <= at) pending_.pop_front();
    covered_revision_ = std::max(covered_revision_, at);
  }
  if (!pending_.empty()) {
    size_t count = std::min(pending_.size(), limits_.batch_limit);
    if (selector_) {
      store_->Read([&](const TopologyState& state) {
        // Read runs this before it returns, on this thread, which holds mu_; the analysis does not
        // follow the lambda into Read, so say so.
        mu_.AssertHeld();
        for (size_t i = 0; i < count; ++i) AppendFiltered(*pending_[i], state);
      });
    } else {
      for (size_t i = 0; i < count; ++i) *response_.add_events() = *pending_[i];
    }
    pending_.erase(pending_.begin(), pending_.begin() + count);
  }
  if (omit_guest_config_) OmitGuestConfig(response_);
  if (!response_.has_snapshot() && response_.events_size() == 0) {
    if (!heartbeat_revision_) return;
    response_.mutable_heartbeat()->set_revision(*heartbeat_revision_);
  }
  heartbeat_revision_.reset();
  writing_ = true;
  last_write_ = absl::Now();
  StartWrite(&response_);
}

void WatchReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  if (finish_after_write_) {
    grpc::Status status = *finish_after_write_;
    finish_after_write_.reset();
    FinishLocked(status);
    return;
  }
  if (!ok) {
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
    return;
  }
  MaybeWriteLocked();
}

void WatchReactor::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  if (writing_) {
    finish_after_write_ = status;
    return;
  }
  finished_ = true;
  pending_.clear();
  Finish(status);
}

void WatchReactor::OnCancel() {
  absl::MutexLock lock(&mu_);
  FinishLocked(grpc::Status::CANCELLED);
}

void WatchReactor::OnDone() {
  bool subscribed;
  {
    absl::MutexLock lock(&mu_);
    subscribed = subscribed_;
  }
  if (subscribed) store_->hub().Unsubscribe(this);
  delete this;
}

}  // namespace clownix::server
