// ReconcileQueue: what the reconciler has to look at, gathered from every thread.
//
// Producers (the store's committed events, the VM driver's and the switch driver's callbacks,
// the reconciler's own retries) Add work: names of objects to compare again ("dirty"), and
// what the backends observed, in order. Dirty names are a set, so a storm of changes to one
// object costs one comparison. The one consumer takes everything pending as a batch (Next); the
// batch is done when it asks for the next one. WaitIdle waits for that point, which is what
// callers that need "the runtime has acted on it" wait for.
//
// Thread-safety: every method may be called from any thread; Next from one consumer thread.
#ifndef CLOWNIX_SERVER_RECONCILE_QUEUE_H_
#define CLOWNIX_SERVER_RECONCILE_QUEUE_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/endpoint_ref.h"
#include "server/switch_driver.h"
#include "server/vm_driver.h"

namespace clownix::server {

struct ReconcileWork {
  std::set<std::string> vms;
  std::set<std::string> lans;
  std::set<EndpointRef> links;  // a VM NIC's link, or a tap (attached or not)
  std::vector<VmDriver::Event> vm_events;
  std::vector<SwitchDriver::PortEvent> port_events;

  bool empty() const;
  // Adds `other`'s names and appends its events.
  void Merge(ReconcileWork other);
};

class ReconcileQueue {
 public:
  // Adds work; ignored once closed.
  void Add(ReconcileWork work);
  void AddVmEvent(VmDriver::Event event);
  void AddPortEvent(SwitchDriver::PortEvent event);
  // Adds `work` once `delay` has passed (a retry). Until then it does not count as pending.
  void AddAfter(ReconcileWork work, absl::Duration delay);
  // Work from the store's events up to `revision`: WaitIdle(revision) waits for it.
  void AddFromRevision(ReconcileWork work, uint64_t revision);
  // No more revisions will come (the store's watch ended): revision waits end.
  void EndRevisions();

  // Consumer: blocks until there is work, then takes all of it; the batch taken before is done.
  // nullopt once closed.
  std::optional<ReconcileWork> Next();

  // Blocks until the queue has seen the store's events up to `revision` (0: none needed),
  // nothing is pending and the consumer is done with its batch; or until the queue is closed.
  // Work added with AddAfter counts only once due. Must not be called by the consumer.
  // WaitIdleUntil gives up at `deadline` and says whether the queue was idle.
  void WaitIdle(uint64_t revision = 0);
  bool WaitIdleUntil(uint64_t revision, absl::Time deadline);

  // Ends Next and every WaitIdle, drops what is pending, ignores later Adds. Idempotent.
  void Close();
  bool closed() const;

 private:
  // Moves due delayed work to pending_.
  void PromoteDueLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  ReconcileWork pending_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<absl::Time, ReconcileWork>> delayed_ ABSL_GUARDED_BY(mu_);
  uint64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  bool revisions_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_RECONCILE_QUEUE_H_
