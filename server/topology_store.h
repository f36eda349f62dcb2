// TopologyStore: the single writer of the topology, durable before it acknowledges.
//
// Requests from any thread queue up for one writer thread. The writer takes everything queued as
// a batch, runs each mutation's rules against its working copy of the state, appends the
// resulting events to the journal, and makes the batch durable with one fdatasync (group
// commit). Only then does it apply the events to the committed copy that readers see, hand them
// to the publisher thread (which fans them out to the watch hub, off the commit path) and call
// each request's completion, in order; a watcher may see an event just after its request was
// acknowledged. A failed flush rolls the working copy back to the committed one and fails the
// whole batch: nothing half-acknowledged.
//
// On disk, in the work dir: state.json (a snapshot: the topology at some revision, written
// atomically) and journal.log (the events after it). When the journal outgrows the snapshot it
// is compacted into a new snapshot, so the journal replayed at start-up stays proportional to the
// topology and the cost per mutation stays constant.
#ifndef CLOWNIX_SERVER_TOPOLOGY_STORE_H_
#define CLOWNIX_SERVER_TOPOLOGY_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/journal.h"
#include "server/mutation.pb.h"
#include "server/mutation_rules.h"
#include "server/topology_state.h"
#include "server/watch_hub.h"

namespace clownix::server {

class TopologyStore {
 public:
  struct Options {
    std::string work_dir;
    RuleOptions rules;
    // Checked against each change a client's mutation makes (not the runtime's status reports),
    // after the rules: a status other than OK refuses the whole mutation with it (a VM larger
    // than the host's VM memory budget: RESOURCE_EXHAUSTED). Runs on the writer thread: quick,
    // must not call the store. Unset: none.
    std::function<absl::Status(const clownix::v1::Change&)> check_change;
    // Compact once the journal exceeds max(compact_min_bytes, 2 x the last snapshot's size).
    uint64_t compact_min_bytes = 16 << 20;
    WatchHub::Options watch;
  };

  // What a recovery found, for the log.
  struct Recovery {
    uint64_t snapshot_revision = 0;
    uint64_t journal_records = 0;
    uint64_t torn_bytes = 0;
  };

  // Loads state.json and replays journal.log from `options.work_dir` (created if missing) and
  // starts the writer. FAILED_PRECONDITION if another clownixd holds the work dir; DATA_LOSS or
  // INVALID_ARGUMENT if the files are corrupt; I/O errors as absl::ErrnoToStatus maps their errno
  // (PERMISSION_DENIED, RESOURCE_EXHAUSTED for a full disk, UNAVAILABLE, ...).
  static absl::StatusOr<std::unique_ptr<TopologyStore>> Create(Options options,
                                                               Recovery* recovery = nullptr);
  ~TopologyStore();

  struct Committed {
    // The mutation's revision; for a mutation that changed nothing, the current revision.
    uint64_t revision = 0;
    // The event, or null when nothing changed.
    EventPtr event;
  };
  using Done = std::function<void(absl::StatusOr<Committed>)>;

  // Queues a mutation. `done` runs on the writer thread once the mutation is durable and visible
  // (or refused, with the rule's status): it must not block. After Shutdown, `done` runs at once
  // on the caller's thread with UNAVAILABLE. Several Submits from one thread are applied in
  // submission order. Thread-safe.
  void Submit(Mutation mutation, Done done);

  // Submit and wait.
  absl::StatusOr<Committed> Mutate(Mutation mutation);

  // Runs `reader` on the committed state under a shared lock. It must not call the store.
  void Read(const std::function<void(const TopologyState&)>& reader) const;
  clownix::v1::Network Snapshot(const class LabelSelector* selector = nullptr) const;
  uint64_t revision() const;

  WatchHub& hub() { return *hub_; }
  // The rules' options the store was made with.
  const RuleOptions& rule_options() const { return options_.rules; }

  // Finishes the queued requests, stops the writer and ends every watch. Idempotent.
  void Shutdown();

 private:
  struct Pending {
    Mutation mutation;
    Done done;
  };

  explicit TopologyStore(Options options);
  absl::Status Recover(Recovery* recovery);
  void WriterLoop();
  void ProcessBatch(std::vector<Pending>& batch);
  void PublisherLoop();
  absl::Status WriteSnapshot();

  const Options options_;
  int lock_fd_ = -1;
  std::unique_ptr<Journal> journal_;  // Writer thread only (and Open).
  TopologyState working_;             // Writer thread only (and Open).
  uint64_t snapshot_bytes_ = 0;       // Writer thread only (and Open).

  mutable absl::Mutex state_mu_;
  TopologyState committed_ ABSL_GUARDED_BY(state_mu_);

  absl::Mutex queue_mu_;
  std::vector<Pending> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;

  absl::Mutex publish_mu_;
  std::vector<EventPtr> to_publish_ ABSL_GUARDED_BY(publish_mu_);
  bool publisher_stopping_ ABSL_GUARDED_BY(publish_mu_) = false;

  std::unique_ptr<WatchHub> hub_;
  std::thread writer_;
  std::thread publisher_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_TOPOLOGY_STORE_H_
