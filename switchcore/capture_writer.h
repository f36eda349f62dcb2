// CaptureWriter: one running packet capture inside the switch, the producer side of its slot in
// the capture segment (switchcore/ctl/capture_layout.h): what it captures (the engine fills the
// public fields), its filter, copied out of shared memory and checked once at start, and its
// ring.
//
// Per frame offered: the filter runs (libpcap's bpf_filter, which checks every load against the
// frame's length), and a match is copied into the ring, or counted dropped if the reader left no
// room; nothing is allocated and no syscall made. The head is published once per forwarding round
// (Publish), which also wakes a reader sleeping on the slot's futex word: at most one FUTEX_WAKE
// per slot and round.
#ifndef CLOWNIX_SWITCHCORE_CAPTURE_WRITER_H_
#define CLOWNIX_SWITCHCORE_CAPTURE_WRITER_H_

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "switchcore/ctl/capture_layout.h"
#include "switchcore/ctl/ctl_layout.h"

namespace clownix::switchcore {

class Lan;

// CLOCK_REALTIME read at most once per batch: Reset() at the start of each batch, Now() when a
// frame is captured (clock_gettime through the vDSO: no syscall).
class CaptureClock {
 public:
  void Reset() { ns_ = 0; }
  int64_t Now();

 private:
  int64_t ns_ = 0;
};

class CaptureWriter {
 public:
  // Copies snaplen and the program out of `slot`/`program` (shared memory) and checks the copy:
  // INVALID_ARGUMENT for a snaplen outside 1..kCaptureMaxSnaplen, a program longer than
  // kCaptureMaxInsns or one that bpf_validate refuses. `ring` is the slot's ring.
  static absl::StatusOr<std::unique_ptr<CaptureWriter>> Create(ctl::CaptureSlotHeader* slot,
                                                               const sock_filter* program,
                                                               uint8_t* ring);

  // What the engine captures with it.
  uint64_t request_id = 0;  // of the kStartCapture (echoed in kCaptureEnded)
  Lan* lan = nullptr;
  uint64_t port_id = 0;  // 0: the whole LAN, or a MAC-bound capture not bound yet
  bool mac_pending = false;
  uint8_t mac[6] = {};

  // Runs the filter over the frame; a match is written to the ring (first snaplen bytes) or, if
  // it does not fit, counted dropped.
  void Offer(uint64_t port, ctl::Direction direction, CaptureClock& clock, const uint8_t* frame,
             size_t len);
  // Publishes head, counters and bound port (if changed) and wakes a sleeping reader.
  void Publish();
  // Binds a MAC-bound capture to `port` (published at once).
  void Bind(uint64_t port);

  uint64_t matched() const { return matched_; }
  uint64_t dropped() const { return dropped_; }

 private:
  CaptureWriter(ctl::CaptureSlotHeader* slot, uint8_t* ring, uint32_t snaplen)
      : shm_(slot), ring_(ring), snaplen_(snaplen) {}
  bool Reserve(uint64_t bytes);

  ctl::CaptureSlotHeader* shm_;
  uint8_t* ring_;
  uint32_t snaplen_;
  std::vector<sock_filter> program_;  // empty: every frame
  uint64_t head_ = 0;
  uint64_t tail_seen_ = 0;  // the reader's tail as last read (and checked)
  uint64_t published_head_ = 0;
  uint64_t matched_ = 0, dropped_ = 0;
  uint64_t published_matched_ = 0, published_dropped_ = 0;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_CAPTURE_WRITER_H_
