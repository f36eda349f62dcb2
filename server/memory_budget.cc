#include "server/memory_budget.h"

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_io.h"

namespace clownix::server {

absl::StatusOr<int64_t> MemoryBudget::MemTotalMib(absl::string_view meminfo) {
  for (absl::string_view line : absl::StrSplit(meminfo, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kib = 0;
    if (fields.size() >= 2 && fields[0] == "MemTotal:" && absl::SimpleAtoi(fields[1], &kib)) {
      return kib / 1024;
    }
  }
  return absl::InvalidArgumentError("meminfo has no MemTotal line");
}

absl::StatusOr<int64_t> MemoryBudget::DefaultBudgetMib(absl::string_view meminfo) {
  absl::StatusOr<int64_t> total_mib = MemTotalMib(meminfo);
  if (!total_mib.ok()) return total_mib.status();
  return std::max<int64_t>(0, *total_mib - std::max(kMinReserveMib, *total_mib / 8));
}

absl::StatusOr<int64_t> MemoryBudget::HostDefaultBudgetMib(const std::string& path) {
  absl::StatusOr<std::string> meminfo = common::ReadFile(path);
  if (!meminfo.ok()) return meminfo.status();
  return DefaultBudgetMib(*meminfo);
}

absl::Status MemoryBudget::CheckCanEverFit(absl::string_view vm, int64_t mem_mib) const {
  if (CostMib(mem_mib) <= budget_mib_) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("vm \"", vm, "\" needs ", CostMib(mem_mib), " MiB of host memory (mem ", mem_mib,
                   " + ", kUmlOverheadMib, " for UML) and the whole VM memory budget is ",
                   budget_mib_, " MiB (clownixd --vm_memory_budget_mib)"));
}

bool MemoryBudget::TryCharge(const std::string& vm, int64_t mem_mib) {
  absl::MutexLock lock(&mu_);
  if (charges_.count(vm) || used_mib_ + CostMib(mem_mib) > budget_mib_) return false;
  charges_[vm] = CostMib(mem_mib);
  used_mib_ += CostMib(mem_mib);
  return true;
}

void MemoryBudget::Charge(const std::string& vm, int64_t mem_mib) {
  absl::MutexLock lock(&mu_);
  int64_t& charge = charges_[vm];
  used_mib_ += CostMib(mem_mib) - charge;
  charge = CostMib(mem_mib);
}

void MemoryBudget::Release(const std::string& vm) {
  absl::MutexLock lock(&mu_);
  auto it = charges_.find(vm);
  if (it == charges_.end()) return;
  used_mib_ -= it->second;
  charges_.erase(it);
}

int64_t MemoryBudget::ChargeOf(const std::string& vm) const {
  absl::MutexLock lock(&mu_);
  auto it = charges_.find(vm);
  return it == charges_.end() ? 0 : it->second;
}

std::map<std::string, int64_t> MemoryBudget::Charges() const {
  absl::MutexLock lock(&mu_);
  return charges_;
}

MemoryBudget::Usage MemoryBudget::usage() const {
  absl::MutexLock lock(&mu_);
  Usage u;
  u.budget_mib = budget_mib_;
  u.used_mib = used_mib_;
  u.free_mib = std::max<int64_t>(0, budget_mib_ - used_mib_);
  u.vms = static_cast<int>(charges_.size());
  return u;
}

}  // namespace clownix::server
