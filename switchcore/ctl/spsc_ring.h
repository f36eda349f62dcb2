// SpscRing: one side's view of a single-producer single-consumer ring of fixed 256-byte records in
// the control segment (see ctl_layout.h for the protocol). An instance is used either as the
// producer (Push) or as the consumer (Pop), never both. It keeps its own index privately and reads
// only the peer's index from shared memory, validating it against its own.
// Not thread-safe: one thread per side.
#ifndef CLOWNIX_SWITCHCORE_CTL_SPSC_RING_H_
#define CLOWNIX_SWITCHCORE_CTL_SPSC_RING_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "switchcore/ctl/ctl_layout.h"

namespace clownix::switchcore::ctl {

class SpscRing {
 public:
  // `head`, `tail` and `slots` (`count` records) live in the shared segment; `count` is a power of
  // two. Both private indexes start at 0 (a fresh or reset ring).
  SpscRing(RingIndex* head, RingIndex* tail, uint8_t* slots, uint32_t count);

  // Producer: copies `record` (kRecordSize bytes) into the ring, stamping its first 8 bytes with
  // the sequence number. Returns false if the ring is full; DATA_LOSS if the consumer's index is
  // impossible.
  absl::StatusOr<bool> Push(const void* record);

  // Consumer: copies the next record into `out` (kRecordSize bytes). Returns false if the ring is
  // empty; DATA_LOSS if the producer's index or the record's sequence number is wrong. After a
  // DATA_LOSS, Resync() skips to the producer's position.
  absl::StatusOr<bool> Pop(void* out);
  void Resync();

  // Both: forget everything (the peer was restarted and the segment's indexes were zeroed).
  void Reset() { mine_ = 0; }

 private:
  RingIndex* head_;
  RingIndex* tail_;
  uint8_t* slots_;
  uint32_t count_;
  uint64_t mine_ = 0;  // producer: next head; consumer: current tail
};

}  // namespace clownix::switchcore::ctl

#endif  // CLOWNIX_SWITCHCORE_CTL_SPSC_RING_H_
