#include "server/reconcile_queue.h"

#include <algorithm>
#include <utility>

namespace clownix::server {

bool ReconcileWork::empty() const {
  return vms.empty() && lans.empty() && links.empty() && vm_events.empty() && port_events.empty();
}

void ReconcileWork::Merge(ReconcileWork other) {
  vms.merge(other.vms);
  lans.merge(other.lans);
  links.merge(other.links);
  for (auto& e : other.vm_events) vm_events.push_back(std::move(e));
  for (auto& e : other.port_events) port_events.push_back(std::move(e));
}

void ReconcileQueue::Add(ReconcileWork work) {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  pending_.Merge(std::move(work));
}

void ReconcileQueue::AddVmEvent(VmDriver::Event event) {
  ReconcileWork work;
  work.vm_events.push_back(std::move(event));
  Add(std::move(work));
}

void ReconcileQueue::AddPortEvent(SwitchDriver::PortEvent event) {
  ReconcileWork work;
  work.port_events.push_back(std::move(event));
  Add(std::move(work));
}

void ReconcileQueue::AddAfter(ReconcileWork work, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  delayed_.emplace_back(absl::Now() + delay, std::move(work));
}

void ReconcileQueue::AddFromRevision(ReconcileWork work, uint64_t revision) {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  pending_.Merge(std::move(work));
  revision_ = std::max(revision_, revision);
}

void ReconcileQueue::EndRevisions() {
  absl::MutexLock lock(&mu_);
  revisions_ended_ = true;
}

void ReconcileQueue::PromoteDueLocked(absl::Time now) {
  auto due = std::stable_partition(delayed_.begin(), delayed_.end(),
                                   [now](const auto& entry) { return entry.first > now; });
  for (auto it = due; it != delayed_.end(); ++it) pending_.Merge(std::move(it->second));
  delayed_.erase(due, delayed_.end());
}

std::optional<ReconcileWork> ReconcileQueue::Next() {
  absl::MutexLock lock(&mu_);
  busy_ = false;
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !pending_.empty(); };
  while (true) {
    PromoteDueLocked(absl::Now());
    if (ready()) break;
    if (delayed_.empty()) {
      mu_.Await(absl::Condition(&ready));
    } else {
      absl::Time first = delayed_.front().first;
      for (const auto& entry : delayed_) first = std::min(first, entry.first);
      mu_.AwaitWithDeadline(absl::Condition(&ready), first);
    }
  }
  if (closed_) return std::nullopt;
  busy_ = true;
  ReconcileWork work;
  std::swap(work, pending_);
  return work;
}

void ReconcileQueue::WaitIdle(uint64_t revision) {
  WaitIdleUntil(revision, absl::InfiniteFuture());
}

bool ReconcileQueue::WaitIdleUntil(uint64_t revision, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle = [this, revision]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || ((revisions_ended_ || revision_ >= revision) && !busy_ && pending_.empty());
  };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

void ReconcileQueue::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  pending_ = ReconcileWork();
  delayed_.clear();
}

bool ReconcileQueue::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

}  // namespace clownix::server
