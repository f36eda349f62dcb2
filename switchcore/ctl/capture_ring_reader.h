// CaptureRingReader: the client's side of one capture slot's ring (capture_layout.h). Each record
// is copied out of shared memory before it is checked and used (the switch may be scribbling); a
// record that does not make sense ends reading with INTERNAL. Sleeping without spinning uses the
// slot's futex word, which the switch clears and wakes at the end of a round that wrote records.
//
// Thread-safety: Drain and Wait from one thread at a time; Interrupt from any thread.
#ifndef CLOWNIX_SWITCHCORE_CTL_CAPTURE_RING_READER_H_
#define CLOWNIX_SWITCHCORE_CTL_CAPTURE_RING_READER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "switchcore/ctl/capture_layout.h"
#include "switchcore/ctl/capture_session.h"

namespace clownix::switchcore::ctl {

class CaptureRingReader {
 public:
  // `slot` and `ring` stay mapped while the reader lives; the slot was reset (tail 0).
  CaptureRingReader(CaptureSlotHeader* slot, const uint8_t* ring);

  // Calls `on_frame` for up to `max_frames` frames published and not read yet, in order, then
  // publishes the tail. Returns how many; INTERNAL if the ring's indexes or a record are broken
  // (the reader then stays broken).
  absl::StatusOr<size_t> Drain(size_t max_frames,
                               absl::FunctionRef<void(const CapturedFrame&)> on_frame);
  // True if the switch has published records not read yet.
  bool HasData() const;
  // Sleeps until the switch publishes records, Interrupt() is called (and `interrupted` was set
  // before it), or `deadline`. May return early; callers loop.
  void Wait(absl::Time deadline, const std::atomic<bool>& interrupted);
  // Wakes a Wait of `slot`'s reader in this or another process. Set the flag Wait checks first.
  static void Interrupt(CaptureSlotHeader* slot);

 private:
  static constexpr absl::Duration kDoze = absl::Milliseconds(1);
  absl::Status Broken(absl::string_view why);

  CaptureSlotHeader* slot_;
  const uint8_t* ring_;
  uint64_t tail_ = 0;
  absl::Status broken_;
  std::vector<uint8_t> buf_;
};

}  // namespace clownix::switchcore::ctl

#endif  // CLOWNIX_SWITCHCORE_CTL_CAPTURE_RING_READER_H_
