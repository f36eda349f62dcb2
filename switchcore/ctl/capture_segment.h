// CaptureSegment: a mapping of the capture segment's shared memory (layout in capture_layout.h).
// The client Create()s it (sparse memfd, header initialised); the switch Attach()es to the
// inherited fd and checks every header field against the layout it was built with.
#ifndef CLOWNIX_SWITCHCORE_CTL_CAPTURE_SEGMENT_H_
#define CLOWNIX_SWITCHCORE_CTL_CAPTURE_SEGMENT_H_

#include <linux/filter.h>

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "switchcore/ctl/capture_layout.h"

namespace clownix::switchcore::ctl {

class CaptureSegment {
 public:
  // A new memfd segment with an initialised header; slots untouched (no memory used).
  // RESOURCE_EXHAUSTED if the memfd cannot be made or mapped.
  static absl::StatusOr<std::unique_ptr<CaptureSegment>> Create();
  // Maps an existing segment from `fd` (not owned). INVALID_ARGUMENT if the size or any header
  // field does not match this build's layout.
  static absl::StatusOr<std::unique_ptr<CaptureSegment>> Attach(int fd);

  ~CaptureSegment();
  CaptureSegment(const CaptureSegment&) = delete;
  CaptureSegment& operator=(const CaptureSegment&) = delete;

  // The memfd, owned by a segment made with Create() (-1 after Attach).
  int fd() const { return fd_; }
  // `slot` < kCaptureSlots (callers check).
  CaptureSlotHeader* slot(uint32_t slot) {
    return reinterpret_cast<CaptureSlotHeader*>(SlotBase(slot));
  }
  sock_filter* program(uint32_t slot) {
    return reinterpret_cast<sock_filter*>(SlotBase(slot) + kCaptureProgramOffset);
  }
  uint8_t* ring(uint32_t slot) { return SlotBase(slot) + kCaptureRingOffset; }

  // The client, before starting a capture in `slot`: zeroes its indexes, counters and wake word.
  void ResetSlot(uint32_t slot);
  // The client, once no switch writes to `slot` any more: gives the program's and the ring's
  // pages back (fallocate PUNCH_HOLE; they read as zeros again). The header page stays.
  absl::Status Release(uint32_t slot);
  // Pages of the memfd that hold memory now (st_blocks), for tests and the benchmark.
  absl::StatusOr<uint64_t> ResidentBytes() const;

 private:
  CaptureSegment(uint8_t* base, int owned_fd) : base_(base), fd_(owned_fd) {}
  uint8_t* SlotBase(uint32_t slot) {
    return base_ + kCaptureSlotOffset + static_cast<uint64_t>(slot) * kCaptureSlotSize;
  }
  uint8_t* base_;
  int fd_;
};

}  // namespace clownix::switchcore::ctl

#endif  // CLOWNIX_SWITCHCORE_CTL_CAPTURE_SEGMENT_H_
