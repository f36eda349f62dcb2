// FakeCapture: a packet capture in the fake switch (FakeSwitchDriver::StartCapture), and the
// CaptureSession it hands out. The test plays the switch: it pushes captured frames, counts
// drops, binds a `mac` capture to a port and ends the capture, as capture_session.h describes;
// the code under test reads the session.
//
// Thread-safety: every method may be called from any thread.
#ifndef CLOWNIX_SERVER_TESTING_FAKE_CAPTURE_H_
#define CLOWNIX_SERVER_TESTING_FAKE_CAPTURE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "switchcore/ctl/capture_session.h"

namespace clownix::server::testing {

class FakeCapture : public std::enable_shared_from_this<FakeCapture> {
 public:
  explicit FakeCapture(switchcore::CaptureSpec spec) : spec_(std::move(spec)) {}

  const switchcore::CaptureSpec& spec() const { return spec_; }
  // A session reading this capture; destroying it stops the capture.
  std::unique_ptr<switchcore::CaptureSession> NewSession();

  // The switch captured a frame (`wire_length` 0: data's size).
  void Push(uint64_t port_id, switchcore::ctl::Direction direction, int64_t timestamp_ns,
            std::vector<uint8_t> data, uint32_t wire_length = 0);
  // The ring was full: `count` more frames were lost.
  void Drop(uint64_t count);
  // A `mac` capture bound to `port_id`.
  void Bind(uint64_t port_id);
  // The switch ends the capture (ABORTED, NOT_FOUND, UNAVAILABLE: capture_session.h); frames
  // pushed before are still read. Only the first end counts.
  void End(absl::Status why);
  // Whether the reader stopped it (Stop, or the session destroyed).
  bool stopped() const;
  // Frames pushed and not read yet.
  size_t unread() const;

  // CaptureSession, for the session.
  absl::Status Read(absl::Time deadline, size_t max_frames,
                    absl::FunctionRef<void(const switchcore::CapturedFrame&)> on_frame);
  void Stop();
  uint64_t dropped() const;
  uint64_t bound_port() const;

 private:
  struct Frame {
    uint64_t port_id;
    switchcore::ctl::Direction direction;
    int64_t timestamp_ns;
    uint32_t wire_length;
    std::vector<uint8_t> data;
  };

  const switchcore::CaptureSpec spec_;
  mutable absl::Mutex mu_;
  std::deque<Frame> frames_ ABSL_GUARDED_BY(mu_);
  absl::Status end_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bound_port_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace clownix::server::testing

#endif  // CLOWNIX_SERVER_TESTING_FAKE_CAPTURE_H_
