#include "switchcore/impairment.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace clownix::switchcore {

absl::Status Impairment::Validate(const ctl::Impairment& p) {
  for (uint32_t ppm : {p.loss_ppm, p.duplicate_ppm, p.corrupt_ppm, p.reorder_ppm}) {
    if (ppm > 1000000) {
      return absl::InvalidArgumentError(absl::StrCat("probability ", ppm, " ppm is over 1000000"));
    }
  }
  if (p.delay_us > kMaxDelayUs || p.jitter_us > kMaxDelayUs) {
    return absl::InvalidArgumentError("delay and jitter must be at most 60 s");
  }
  if (p.queue_limit > 100000) {
    return absl::InvalidArgumentError("queue_limit must be at most 100000 frames");
  }
  return absl::OkStatus();
}

void Impairment::Set(const ctl::Impairment& p) {
  params_ = p;
  active_ = p.delay_us || p.jitter_us || p.loss_ppm || p.duplicate_ppm || p.corrupt_ppm ||
            p.reorder_ppm || p.rate_bps;
}

Impairment::Plan Impairment::Decide(int64_t now_ns, uint32_t length, FastRandom& rng) {
  Plan plan;
  uint32_t limit = params_.queue_limit ? params_.queue_limit : kDefaultQueueLimit;
  if (static_cast<uint32_t>(pending_) >= limit) {
    plan.drop_cause = ctl::kDropImpairQueue;
    return plan;
  }
  if (rng.Chance(params_.loss_ppm)) {
    plan.drop_cause = ctl::kDropImpairLoss;
    return plan;
  }
  int64_t t = now_ns;
  if (params_.rate_bps) {
    int64_t start = std::max(now_ns, link_free_ns_);
    link_free_ns_ = start + static_cast<int64_t>((static_cast<__int128>(length) * 8 * 1000000000) /
                                                 params_.rate_bps);
    t = link_free_ns_;
  }
  int64_t delay = static_cast<int64_t>(params_.delay_us) * 1000;
  if (params_.jitter_us) {
    int64_t j = static_cast<int64_t>(params_.jitter_us) * 1000;
    delay += static_cast<int64_t>(rng.Below(2 * j + 1)) - j;
  }
  if (rng.Chance(params_.reorder_ppm)) delay = 0;
  delay = std::max<int64_t>(delay, 0);
  plan.copies = rng.Chance(params_.duplicate_ppm) ? 2 : 1;
  for (int i = 0; i < plan.copies; ++i) {
    plan.due_ns[i] = t + delay;
    plan.corrupt[i] = rng.Chance(params_.corrupt_ppm);
  }
  pending_ += plan.copies;
  return plan;
}

}  // namespace clownix::switchcore
