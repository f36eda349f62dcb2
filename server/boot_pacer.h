// BootPacer: which VMs may boot now. Booting a UML VM is CPU-bound (ptrace context switches on
// the host); on a small host N boots at once take longer in total than the same N a few at a
// time (docs/benchmarks/scale.md), and an unbounded number would also ask for more memory than
// the host has. The pacer keeps the VMs that want to boot in one queue, in the order they asked
// (FIFO: fair, nobody overtakes), and lets them through two gates:
//   1. memory: the VM's charge (MemoryBudget::CostMib) must fit in what the budget has free. The
//      first VM that does not fit waits ("waiting for memory: ...", its state stays DEFINED), and
//      so do all the VMs behind it, so that a large VM is not starved by small ones overtaking
//      it. A VM that passes is charged from then on (it is "booting": BOOTING, "queued to boot").
//   2. boot slots: at most Options::max_booting VMs boot at once. A VM holds its slot from its
//      start until its startup has finished (the guest's startup script, e.g. starting FRR: as
//      CPU-hungry as the boot, and unpaced it starves the boots behind it) or it ends. So that a
//      guest that never answers, or a startup that waits for a VM still queued, does not hold the
//      queue forever, a slot is freed after a timeout that follows the host: the longest of
//      Options::slot_timeout and Options::slow_boot_factor times the median of the last boots
//      (start to startup finished), at most Options::max_slot_timeout. A host that is merely slow
//      makes every boot slow, and the pacer waits for them instead of letting more in (which would
//      make them slower still).
// Plan() walks the queue and says what to do with each VM; the reconciler acts on it and tells
// the pacer what came of it (BootEnded, StartFailed). Nothing here is ever killed or stopped: a
// VM that waits just waits.
//
// Thread-safety: every method may be called from any thread (the reconciler's thread drives it,
// GetStats is read by the API).
#ifndef CLOWNIX_SERVER_BOOT_PACER_H_
#define CLOWNIX_SERVER_BOOT_PACER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/memory_budget.h"

namespace clownix::server {

class BootPacer {
 public:
  struct Options {
    // At most this many VMs boot at once; 0: no limit.
    int max_booting = 0;
    // A boot older than this no longer holds a slot, unless the last boots took longer (below).
    absl::Duration slot_timeout = absl::Seconds(60);
    std::function<absl::Time()> now = [] { return absl::Now(); };
    // A boot older than this many times the median of the last kRecentBoots boots no longer holds
    // a slot either (when that is longer than slot_timeout).
    int slow_boot_factor = 3;
    // ... but never longer than this: how long a boot takes is partly the guest's to say (its
    // agent reports when its startup has finished), and a guest must not be able to hold the
    // queue for everyone else for as long as it likes.
    absl::Duration max_slot_timeout = absl::Minutes(15);
  };
  // How many of the last boots the slot timeout follows.
  static constexpr size_t kRecentBoots = 8;

  // `budget` must outlive the pacer.
  BootPacer(MemoryBudget* budget, Options options);

  // VM `vm` (mem=`mem_mib`M) is meant to boot and does not run: it joins the back of the queue.
  // No-op if it is queued already or booting.
  void Want(const std::string& vm, int mem_mib);
  // Whether `vm` is in the queue (waiting for memory or for a slot).
  bool Queued(const std::string& vm) const;
  // `vm` no longer wants to boot (deleted, halted): it leaves the queue and the memory it was
  // charged while queued goes back to the budget. No-op when it is not queued (a VM that booted
  // keeps its charge until its process is gone: the caller releases it then).
  void Forget(const std::string& vm);

  struct Decision {
    enum class Kind {
      kStart,             // boot it now: it holds a slot and its charge
      kQueued,            // charged, waits for a slot: BOOTING with `reason`
      kWaitingForMemory,  // not charged: DEFINED with `reason`
    };
    Kind kind;
    std::string vm;
    int mem_mib = 0;
    std::string reason;  // "" for kStart
  };
  // Walks the queue in order and decides for each VM (see the file comment). The VMs to kStart
  // leave the queue and hold a slot; the caller boots them and calls StartFailed for those it
  // could not start.
  std::vector<Decision> Plan();

  // `vm`'s boot is over (its startup finished, or it ended): its slot is free. No-op if it holds
  // none. `completed`: the boot went to its end (its duration counts for the slot timeout).
  void BootEnded(const std::string& vm, bool completed);
  // The caller could not start `vm` after a kStart: its slot and its charge are given back.
  void StartFailed(const std::string& vm);
  // When the oldest slot times out (Plan should run again then); nullopt when no slot is held
  // or when nobody is queued.
  std::optional<absl::Time> NextSlotTimeout() const;
  // The VMs whose slot timed out since the last call, for the caller to log.
  std::vector<std::string> TakeTimedOut();
  // How long a boot may hold its slot now (see the file comment).
  absl::Duration SlotTimeout() const;

  struct Stats {
    int max_booting = 0;
    int booting = 0;                              // slots held
    int queued = 0;                               // charged, waiting for a slot
    std::vector<std::string> waiting_for_memory;  // in queue order
  };
  // As of the last Plan (slots: as of now).
  Stats GetStats() const;

 private:
  struct Entry {
    std::string vm;
    int mem_mib = 0;
    bool charged = false;
  };
  void ExpireSlotsLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration SlotTimeoutLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  MemoryBudget* const budget_;
  const Options options_;
  mutable absl::Mutex mu_;
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> booting_ ABSL_GUARDED_BY(mu_);  // slot holders: since when
  std::vector<std::string> waiting_for_memory_ ABSL_GUARDED_BY(mu_);
  std::deque<absl::Duration> recent_boots_ ABSL_GUARDED_BY(mu_);  // the last ones, oldest first
  std::vector<std::string> timed_out_ ABSL_GUARDED_BY(mu_);
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_BOOT_PACER_H_
