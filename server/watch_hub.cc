#include "server/watch_hub.h"

#include <utility>

#include "absl/time/clock.h"

namespace clownix::server {
namespace {

std::vector<size_t> EncodedSizes(const std::vector<EventPtr>& events) {
  std::vector<size_t> bytes;
  bytes.reserve(events.size());
  // ByteSizeLong caches the size in the message with a relaxed atomic: safe on an event other
  // threads may be serializing.
  for (const EventPtr& event : events) bytes.push_back(event->ByteSizeLong());
  return bytes;
}

}  // namespace

WatchHub::WatchHub(Options options, std::function<uint64_t()> committed_revision)
    : options_(options), committed_revision_(std::move(committed_revision)) {
  ticker_ = std::thread([this] { TickLoop(); });
}

WatchHub::~WatchHub() {
  Shutdown();
  ticker_.join();
}

void WatchHub::TickLoop() {
  absl::MutexLock lock(&mu_);
  while (!shutdown_) {
    // Sleep without waking while nobody watches; tick otherwise. Never spins.
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return shutdown_ || !subscribers_.empty();
    };
    mu_.Await(absl::Condition(&woken));
    if (shutdown_) break;
    mu_.AwaitWithTimeout(absl::Condition(&shutdown_), options_.tick);
    if (shutdown_) break;
    absl::Time now = absl::Now();
    for (WatchSubscriber* sub : subscribers_) sub->OnTick(now, last_revision_);
  }
}

WatchHub::SubscribeResult WatchHub::Subscribe(WatchSubscriber* sub, uint64_t since_revision) {
  absl::MutexLock lock(&mu_);
  if (shutdown_) {
    sub->OnHubShutdown();
    return {};
  }
  subscribers_.insert(sub);
  if (since_revision == 0) return {true, clownix::v1::Snapshot::INITIAL};
  if (since_revision > last_revision_) {
    // Committed but not yet published events arrive through Publish; a revision the store has
    // never reached is bogus.
    if (since_revision <= committed_revision_()) return {};
    return {true, clownix::v1::Snapshot::HISTORY_EXPIRED};
  }
  uint64_t oldest = history_.empty() ? last_revision_ + 1 : history_.front().event->revision();
  if (since_revision + 1 < oldest) return {true, clownix::v1::Snapshot::HISTORY_EXPIRED};
  std::vector<EventPtr> missed;
  for (auto it = history_.begin() + (since_revision + 1 - oldest); it != history_.end(); ++it) {
    missed.push_back(it->event);
  }
  if (!missed.empty()) sub->OnEvents(missed);
  return {};
}

void WatchHub::Unsubscribe(WatchSubscriber* sub) {
  absl::MutexLock lock(&mu_);
  subscribers_.erase(sub);
}

void WatchHub::AppendHistory(const std::vector<EventPtr>& events,
                             const std::vector<size_t>& bytes) {
  for (size_t i = 0; i < events.size(); ++i) {
    history_.push_back({events[i], bytes[i]});
    history_bytes_ += bytes[i];
  }
  while (!history_.empty() && (history_.size() > options_.history_limit ||
                               history_bytes_ > options_.history_bytes_limit)) {
    history_bytes_ -= history_.front().bytes;
    history_.pop_front();
  }
  if (!events.empty()) last_revision_ = events.back()->revision();
}

void WatchHub::Seed(uint64_t revision, const std::vector<EventPtr>& history) {
  const std::vector<size_t> bytes = EncodedSizes(history);
  absl::MutexLock lock(&mu_);
  AppendHistory(history, bytes);
  last_revision_ = revision;
}

void WatchHub::Publish(const std::vector<EventPtr>& events) {
  const std::vector<size_t> bytes = EncodedSizes(events);
  absl::MutexLock lock(&mu_);
  AppendHistory(events, bytes);
  for (WatchSubscriber* sub : subscribers_) sub->OnEvents(events);
}

void WatchHub::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shutdown_) return;
  shutdown_ = true;
  for (WatchSubscriber* sub : subscribers_) sub->OnHubShutdown();
  subscribers_.clear();
}

uint64_t WatchHub::last_revision() const {
  absl::MutexLock lock(&mu_);
  return last_revision_;
}

size_t WatchHub::subscriber_count() const {
  absl::MutexLock lock(&mu_);
  return subscribers_.size();
}

uint64_t WatchHub::oldest_revision() const {
  absl::MutexLock lock(&mu_);
  return history_.empty() ? 0 : history_.front().event->revision();
}

}  // namespace clownix::server
