// FastRandom: a small xorshift64* generator for the impairment hot path (no allocation, no locks,
// not cryptographic). Header-only.
#ifndef CLOWNIX_SWITCHCORE_FAST_RANDOM_H_
#define CLOWNIX_SWITCHCORE_FAST_RANDOM_H_

#include <cstdint>

namespace clownix::switchcore {

class FastRandom {
 public:
  explicit FastRandom(uint64_t seed) : state_(seed ? seed : 0x9e3779b97f4a7c15ull) {}

  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }
  // True with probability ppm / 1e6.
  bool Chance(uint32_t ppm) { return ppm != 0 && (Next() >> 11) % 1000000 < ppm; }
  // Uniform in [0, n) for n > 0.
  uint64_t Below(uint64_t n) { return (Next() >> 11) % n; }

 private:
  uint64_t state_;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_FAST_RANDOM_H_
