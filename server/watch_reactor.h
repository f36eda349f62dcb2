// WatchReactor: one Topology.Watch stream (gRPC callback API).
//
// The hub pushes events in (OnEvents, never blocking); the reactor keeps one write in flight and
// packs everything pending into the next message, so a watcher costs one stream message per
// batch, not per event. Its queue is bounded: a watcher that falls more than `queue_limit` events
// behind drops its queue and resyncs with a FELL_BEHIND snapshot. When idle for the heartbeat
// interval it sends a heartbeat with the current revision.
//
// Locking: the hub calls in with its lock held, then takes mu_; reactions take only mu_;
// OnDone unsubscribes (hub lock) without holding mu_. StartWrite and Finish are called under mu_
// (gRPC runs reactions on its own threads, never inline from them).
#ifndef CLOWNIX_SERVER_WATCH_REACTOR_H_
#define CLOWNIX_SERVER_WATCH_REACTOR_H_

#include <cstdint>
#include <deque>
#include <optional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/clownix/v1/topology.pb.h"
#include "server/label_selector.h"
#include "server/topology_store.h"
#include "server/watch_hub.h"

namespace clownix::server {

class WatchReactor final : public grpc::ServerWriteReactor<clownix::v1::WatchResponse>,
                           public WatchSubscriber {
 public:
  struct Limits {
    // Pending events past which a watcher is resynced with a snapshot.
    size_t queue_limit = 20000;
    // Events per stream message.
    size_t batch_limit = 5000;
  };

  // Starts the stream: validates the request (INVALID_ARGUMENT finishes it at once), subscribes.
  // Deletes itself in OnDone.
  WatchReactor(TopologyStore* store, const clownix::v1::WatchRequest& request, Limits limits);

  void OnEvents(const std::vector<EventPtr>& events) override;
  void OnTick(absl::Time now, uint64_t revision) override;
  void OnHubShutdown() override;

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Starts the next write if none is in flight and there is something to send.
  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends `event` to response_, keeping only the changes that match the selector.
  void AppendFiltered(const clownix::v1::Event& event, const TopologyState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  TopologyStore* const store_;
  const Limits limits_;
  std::optional<LabelSelector> selector_;  // Empty: no filtering.
  bool omit_guest_config_ = false;         // WatchRequest.omit_guest_config
  absl::Duration heartbeat_interval_;
  bool subscribed_ = false;

  absl::Mutex mu_;
  // Highest revision queued or covered by a snapshot: later events at or below it are skipped.
  uint64_t covered_revision_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<EventPtr> pending_ ABSL_GUARDED_BY(mu_);
  std::optional<clownix::v1::Snapshot::Reason> snapshot_reason_ ABSL_GUARDED_BY(mu_);
  std::optional<uint64_t> heartbeat_revision_ ABSL_GUARDED_BY(mu_);
  absl::Time last_write_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_after_write_ ABSL_GUARDED_BY(mu_);
  clownix::v1::WatchResponse response_ ABSL_GUARDED_BY(mu_);
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_WATCH_REACTOR_H_
