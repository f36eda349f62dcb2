// CtlSegment: a mapping of the control channel's shared memory (layout in ctl_layout.h).
// The client Create()s it (memfd, header initialised); the switch Attach()es to the inherited fd
// and checks every header field against the layout it was built with.
#ifndef CLOWNIX_SWITCHCORE_CTL_CTL_SEGMENT_H_
#define CLOWNIX_SWITCHCORE_CTL_CTL_SEGMENT_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "switchcore/ctl/ctl_layout.h"

namespace clownix::switchcore::ctl {

class CtlSegment {
 public:
  // A new memfd segment with an initialised header, rings empty, counters zero. RESOURCE_EXHAUSTED
  // or INTERNAL if the memfd cannot be made.
  static absl::StatusOr<std::unique_ptr<CtlSegment>> Create();
  // Maps an existing segment from `fd` (not owned: the caller keeps it open or closes it; the
  // mapping stays valid). INVALID_ARGUMENT if the size or any header field does not match.
  static absl::StatusOr<std::unique_ptr<CtlSegment>> Attach(int fd);

  ~CtlSegment();
  CtlSegment(const CtlSegment&) = delete;
  CtlSegment& operator=(const CtlSegment&) = delete;

  // The memfd, owned by a segment made with Create() (-1 after Attach).
  int fd() const { return fd_; }
  SegmentHeader* header() { return reinterpret_cast<SegmentHeader*>(base_); }
  uint8_t* request_slots() { return base_ + kRequestOffset; }
  uint8_t* event_slots() { return base_ + kEventOffset; }
  PortCounters* counters(int slot) {
    return reinterpret_cast<PortCounters*>(base_ + kCountersOffset) + slot;
  }
  // Zeroes the ring indexes and the header's counts (events_lost, peers_refused): the client,
  // before starting a new switch. Port counters are kept.
  void ResetRings();

 private:
  CtlSegment(uint8_t* base, int owned_fd) : base_(base), fd_(owned_fd) {}
  uint8_t* base_;
  int fd_;
};

}  // namespace clownix::switchcore::ctl

#endif  // CLOWNIX_SWITCHCORE_CTL_CTL_SEGMENT_H_
