// MemoryBudget: how much of the host's memory clownixd lets its VMs take, and who has what.
//
// A VM is charged when it is let boot and stays charged until its process is gone: its `mem`
// (the guest's RAM, a file UML maps whole and never gives back, so the guest's use grows up to
// it) plus kUmlOverheadMib for what UML costs the host besides (measured: see the constant). A
// VM is admitted only if its charge fits in what is free; nothing is ever killed to make room
// (the reconciler keeps the others waiting, boot_pacer.h). The budget is a fixed figure: by
// default the host's MemTotal minus room for clownixd, the switch, the page cache and the rest of
// the host (DefaultBudgetMib), or clownixd's --vm_memory_budget_mib.
//
// Thread-safety: every method may be called from any thread.
#ifndef CLOWNIX_SERVER_MEMORY_BUDGET_H_
#define CLOWNIX_SERVER_MEMORY_BUDGET_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace clownix::server {

class MemoryBudget {
 public:
  // What a VM costs the host beyond its guest RAM. Measured on idle debian guests (96M) in their
  // host cgroups (memory.stat): 0.7 MiB of UML's own anonymous memory and under 1 MiB of page
  // cache of its disks besides the guest RAM; cgroup_limits.cc measured ~130 KiB of host kernel
  // memory (stack, page tables) per host task, and a guest has one host task per process (a
  // lab router ~30-60: 4-8 MiB). 16 MiB covers that with a margin.
  static constexpr int64_t kUmlOverheadMib = 16;
  // What DefaultBudgetMib keeps for the rest of the host: an eighth of its memory, at least 1 GiB.
  static constexpr int64_t kMinReserveMib = 1024;

  // MemTotal of a /proc/meminfo's text, in MiB. INVALID_ARGUMENT: no MemTotal line.
  static absl::StatusOr<int64_t> MemTotalMib(absl::string_view meminfo);

  // What a VM booted with mem=`mem_mib`M is charged.
  static int64_t CostMib(int64_t mem_mib) { return mem_mib + kUmlOverheadMib; }

  // The default budget for a host whose /proc/meminfo reads `meminfo`: MemTotal minus
  // max(kMinReserveMib, MemTotal / 8), and at least 0. INVALID_ARGUMENT: no MemTotal line.
  static absl::StatusOr<int64_t> DefaultBudgetMib(absl::string_view meminfo);
  // The same from this host's /proc/meminfo (`path`). Errors of reading it, or of the above.
  static absl::StatusOr<int64_t> HostDefaultBudgetMib(const std::string& path = "/proc/meminfo");

  explicit MemoryBudget(int64_t budget_mib) : budget_mib_(budget_mib) {}

  int64_t budget_mib() const { return budget_mib_; }

  // RESOURCE_EXHAUSTED, naming the VM and both figures, when a VM of `mem_mib` could not fit even
  // in an empty budget; OK otherwise.
  absl::Status CheckCanEverFit(absl::string_view vm, int64_t mem_mib) const;

  // Charges `vm` CostMib(mem_mib) if that fits in what is free and `vm` has no charge yet;
  // returns whether it did.
  bool TryCharge(const std::string& vm, int64_t mem_mib);
  // Charges `vm` whatever is free (a VM found running: it runs already); replaces its charge.
  void Charge(const std::string& vm, int64_t mem_mib);
  // Gives `vm`'s charge back; no-op without one.
  void Release(const std::string& vm);
  // `vm`'s charge in MiB, 0 without one.
  int64_t ChargeOf(const std::string& vm) const;
  // Every charge, by VM.
  std::map<std::string, int64_t> Charges() const;

  struct Usage {
    int64_t budget_mib = 0;
    int64_t used_mib = 0;  // May exceed the budget: VMs found running are charged regardless.
    int64_t free_mib = 0;  // max(0, budget - used)
    int vms = 0;           // VMs charged
  };
  Usage usage() const;

 private:
  const int64_t budget_mib_;
  mutable absl::Mutex mu_;
  std::map<std::string, int64_t> charges_ ABSL_GUARDED_BY(mu_);
  int64_t used_mib_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_MEMORY_BUDGET_H_
