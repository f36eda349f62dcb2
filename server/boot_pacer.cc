#include "server/boot_pacer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace clownix::server {

BootPacer::BootPacer(MemoryBudget* budget, Options options)
    : budget_(budget), options_(std::move(options)) {}

void BootPacer::Want(const std::string& vm, int mem_mib) {
  absl::MutexLock lock(&mu_);
  if (booting_.count(vm)) return;
  for (const Entry& entry : queue_) {
    if (entry.vm == vm) return;
  }
  queue_.push_back(Entry{vm, mem_mib, false});
}

bool BootPacer::Queued(const std::string& vm) const {
  absl::MutexLock lock(&mu_);
  return std::any_of(queue_.begin(), queue_.end(), [&](const Entry& e) { return e.vm == vm; });
}

void BootPacer::Forget(const std::string& vm) {
  absl::MutexLock lock(&mu_);
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->vm != vm) continue;
    if (it->charged) budget_->Release(vm);
    queue_.erase(it);
    waiting_for_memory_.erase(
        std::remove(waiting_for_memory_.begin(), waiting_for_memory_.end(), vm),
        waiting_for_memory_.end());
    return;
  }
}

absl::Duration BootPacer::SlotTimeoutLocked() const {
  if (recent_boots_.empty()) return options_.slot_timeout;
  std::vector<absl::Duration> sorted(recent_boots_.begin(), recent_boots_.end());
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  return std::clamp(options_.slow_boot_factor * sorted[sorted.size() / 2], options_.slot_timeout,
                    std::max(options_.slot_timeout, options_.max_slot_timeout));
}

absl::Duration BootPacer::SlotTimeout() const {
  absl::MutexLock lock(&mu_);
  return SlotTimeoutLocked();
}

void BootPacer::ExpireSlotsLocked(absl::Time now) {
  const absl::Duration timeout = SlotTimeoutLocked();
  for (auto it = booting_.begin(); it != booting_.end();) {
    if (now - it->second < timeout) {
      ++it;
      continue;
    }
    timed_out_.push_back(it->first);
    it = booting_.erase(it);
  }
}

std::vector<BootPacer::Decision> BootPacer::Plan() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = options_.now();
  ExpireSlotsLocked(now);
  std::vector<Decision> decisions;
  waiting_for_memory_.clear();
  std::string first_waiting;
  for (auto it = queue_.begin(); it != queue_.end();) {
    Entry& entry = *it;
    if (!entry.charged) {
      // Strict order: behind a VM that waits for memory, everyone waits.
      if (first_waiting.empty() && budget_->TryCharge(entry.vm, entry.mem_mib)) {
        entry.charged = true;
      } else {
        std::string reason =
            absl::StrCat("waiting for memory: ", MemoryBudget::CostMib(entry.mem_mib),
                         " MiB needed, ", budget_->usage().free_mib, " MiB free");
        if (!first_waiting.empty()) {
          absl::StrAppend(&reason, "; queued behind vm \"", first_waiting, "\"");
        } else {
          first_waiting = entry.vm;
        }
        waiting_for_memory_.push_back(entry.vm);
        decisions.push_back(
            {Decision::Kind::kWaitingForMemory, entry.vm, entry.mem_mib, std::move(reason)});
        ++it;
        continue;
      }
    }
    if (options_.max_booting == 0 || static_cast<int>(booting_.size()) < options_.max_booting) {
      booting_[entry.vm] = now;
      decisions.push_back({Decision::Kind::kStart, entry.vm, entry.mem_mib, ""});
      it = queue_.erase(it);
      continue;
    }
    decisions.push_back(
        {Decision::Kind::kQueued, entry.vm, entry.mem_mib,
         absl::StrCat("queued to boot: at most ", options_.max_booting,
                      " booting at once (a boot lasts until the startup has finished)")});
    ++it;
  }
  return decisions;
}

void BootPacer::BootEnded(const std::string& vm, bool completed) {
  absl::MutexLock lock(&mu_);
  auto it = booting_.find(vm);
  if (it == booting_.end()) return;
  if (completed) {
    recent_boots_.push_back(options_.now() - it->second);
    if (recent_boots_.size() > kRecentBoots) recent_boots_.pop_front();
  }
  booting_.erase(it);
}

void BootPacer::StartFailed(const std::string& vm) {
  absl::MutexLock lock(&mu_);
  booting_.erase(vm);
  budget_->Release(vm);
}

std::optional<absl::Time> BootPacer::NextSlotTimeout() const {
  absl::MutexLock lock(&mu_);
  if (booting_.empty() || queue_.empty()) return std::nullopt;
  absl::Time oldest = absl::InfiniteFuture();
  for (const auto& [vm, since] : booting_) oldest = std::min(oldest, since);
  return oldest + SlotTimeoutLocked();
}

std::vector<std::string> BootPacer::TakeTimedOut() {
  absl::MutexLock lock(&mu_);
  return std::exchange(timed_out_, {});
}

BootPacer::Stats BootPacer::GetStats() const {
  absl::MutexLock lock(&mu_);
  Stats stats;
  stats.max_booting = options_.max_booting;
  stats.booting = static_cast<int>(booting_.size());
  for (const Entry& entry : queue_) stats.queued += entry.charged ? 1 : 0;
  stats.waiting_for_memory = waiting_for_memory_;
  return stats;
}

}  // namespace clownix::server
