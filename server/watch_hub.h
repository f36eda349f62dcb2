// WatchHub: fans committed events out to watchers, and keeps recent history for resumption.
//
// The store publishes each batch of committed events once; the hub appends them to a bounded
// history (a deque of shared, immutable events: no copy per watcher) and hands them, in order,
// to every subscriber under one lock. Subscribers queue and send on their own schedule; a slow
// one never blocks the hub (OnEvents must not block), it resyncs itself with a snapshot instead.
//
// Gap-free start: Subscribe runs under the same lock as Publish, so a subscriber either gets the
// history after its revision and then every later event, or is told to take a snapshot; in that
// case it receives every event published from the moment of subscription and drops those its
// snapshot already contains (revision <= snapshot revision).
#ifndef CLOWNIX_SERVER_WATCH_HUB_H_
#define CLOWNIX_SERVER_WATCH_HUB_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/clownix/v1/topology.pb.h"

namespace clownix::server {

using EventPtr = std::shared_ptr<const clownix::v1::Event>;

// A watcher, as the hub sees it. Every method is called with the hub's lock held: implementations
// must not block nor call back into the hub.
class WatchSubscriber {
 public:
  virtual ~WatchSubscriber() = default;
  // Newly published (or replayed) events, in revision order.
  virtual void OnEvents(const std::vector<EventPtr>& events) = 0;
  // Periodic tick (about every WatchHub::Options::tick) with the latest published revision: the
  // subscriber's chance to send a heartbeat.
  virtual void OnTick(absl::Time now, uint64_t revision) = 0;
  // The hub is shutting down: end the stream. No call follows.
  virtual void OnHubShutdown() = 0;
};

class WatchHub {
 public:
  struct Options {
    // Events kept for resumption, at most this many and this many bytes (their encoded size):
    // an event carries whole objects, a VM with its guest config (up to 256 KiB), so a count
    // alone does not bound the memory the history takes.
    size_t history_limit = 100000;
    size_t history_bytes_limit = 64 << 20;
    absl::Duration tick = absl::Milliseconds(100);
  };

  // `committed_revision` gives the store's committed revision; it may be ahead of the last
  // published one for an instant, and tells a resume from the near future from a bogus one.
  WatchHub(Options options, std::function<uint64_t()> committed_revision);
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  struct SubscribeResult {
    bool needs_snapshot = false;
    clownix::v1::Snapshot::Reason reason = clownix::v1::Snapshot::REASON_UNSPECIFIED;
  };

  // Registers `sub` (not owned; it must Unsubscribe before it dies). With since_revision R > 0
  // and R still in history, `sub` first gets the events after R through OnEvents. Otherwise the
  // result says a snapshot is needed and why. After Shutdown, `sub` is not registered and gets
  // OnHubShutdown at once.
  SubscribeResult Subscribe(WatchSubscriber* sub, uint64_t since_revision);
  void Unsubscribe(WatchSubscriber* sub);

  // Before any subscriber: the revision the store recovered and the events it replayed (the
  // history a resuming watcher can be served from after a restart).
  void Seed(uint64_t revision, const std::vector<EventPtr>& history);

  // Called by the store's publisher thread with each committed batch, in revision order.
  void Publish(const std::vector<EventPtr>& events);

  // Ends every subscription (OnHubShutdown) and refuses new ones.
  void Shutdown();

  uint64_t last_revision() const;
  size_t subscriber_count() const;
  // Oldest revision still in history (0 when empty).
  uint64_t oldest_revision() const;

 private:
  void TickLoop();
  // `bytes`: each event's encoded size (EncodedSizes), computed before the lock is taken.
  void AppendHistory(const std::vector<EventPtr>& events, const std::vector<size_t>& bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct KeptEvent {
    EventPtr event;
    size_t bytes;
  };

  const Options options_;
  const std::function<uint64_t()> committed_revision_;
  mutable absl::Mutex mu_;
  std::deque<KeptEvent> history_ ABSL_GUARDED_BY(mu_);
  size_t history_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_revision_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<WatchSubscriber*> subscribers_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ticker_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_WATCH_HUB_H_
