// Impairment: the link model of one port in one direction (the netem model: loss, rate, delay with
// jitter, reordering, duplication, corruption). Decide() says, for one frame, whether it is dropped
// and when each copy is due; the engine holds the copies in its DelayQueue. The rate limit is a
// virtual link: each frame occupies it for len*8/rate seconds after the previous one; frames beyond
// `queue_limit` waiting in this impairment are dropped (tail drop). No allocation.
#ifndef CLOWNIX_SWITCHCORE_IMPAIRMENT_H_
#define CLOWNIX_SWITCHCORE_IMPAIRMENT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "switchcore/ctl/ctl_layout.h"
#include "switchcore/fast_random.h"

namespace clownix::switchcore {

class Impairment {
 public:
  static constexpr uint32_t kDefaultQueueLimit = 1000;
  static constexpr uint32_t kMaxDelayUs = 60 * 1000 * 1000;

  struct Plan {
    int copies = 0;           // 0 = dropped
    uint32_t drop_cause = 0;  // ctl::DropCause when copies == 0
    int64_t due_ns[2] = {0, 0};
    bool corrupt[2] = {false, false};
  };

  // INVALID_ARGUMENT for values that make no sense (ppm > 1e6, delay over 60 s).
  static absl::Status Validate(const ctl::Impairment& params);

  // Replaces the parameters (live: frames already held keep their due time).
  void Set(const ctl::Impairment& params);
  const ctl::Impairment& params() const { return params_; }
  bool active() const { return active_; }

  Plan Decide(int64_t now_ns, uint32_t length, FastRandom& rng);
  // The engine reports each held copy leaving (sent or discarded).
  void Release() { --pending_; }
  int pending() const { return pending_; }

 private:
  ctl::Impairment params_{};
  bool active_ = false;
  int64_t link_free_ns_ = 0;
  int pending_ = 0;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_IMPAIRMENT_H_
