// Packet capture in the switch, as its client sees it: what to capture (CaptureSpec), one frame as
// the switch saw it (CapturedFrame), and a running capture (CaptureSession), which
// SwitchClient::StartCapture returns.
//
// The switch copies each matching frame, with its timestamp, into a ring in shared memory that
// belongs to that capture (switchcore/ctl/capture_layout.h): no syscall or allocation per frame,
// and nothing on the forwarding path while no capture runs on the frame's LAN. A reader slower
// than the traffic loses capture frames (counted in dropped()), never forwarded ones.
#ifndef CLOWNIX_SWITCHCORE_CTL_CAPTURE_SESSION_H_
#define CLOWNIX_SWITCHCORE_CTL_CAPTURE_SESSION_H_

#include <linux/filter.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "switchcore/ctl/ctl_layout.h"

namespace clownix::switchcore {

struct CaptureSpec {
  // The LAN of the capture (required).
  std::string lan;
  // One port of that LAN: what it sends into the LAN and what the LAN delivers to it. 0, with no
  // `mac`: every frame any port of the LAN sends (each frame once, from its sender).
  uint64_t port_id = 0;
  // With port_id 0: the port of `lan` that first sends a frame from this MAC becomes the
  // captured port, before that frame is forwarded (an endpoint that is not up yet: the capture
  // shows its first frames).
  std::optional<std::array<uint8_t, 6>> mac;
  // Bytes kept of each frame, 1..65535.
  uint32_t snaplen = 65535;
  // A classic BPF program over the Ethernet frame (as pcap_compile makes it, DLT_EN10MB); empty:
  // every frame. The switch checks it before it starts (INVALID_ARGUMENT if it is not a valid
  // program, or longer than BPF_MAXINSNS).
  std::vector<sock_filter> program;
};

struct CapturedFrame {
  uint64_t port_id = 0;
  // kIngress: the port sent it into the LAN; kEgress: the LAN delivered it to the port.
  ctl::Direction direction = ctl::Direction::kIngress;
  // CLOCK_REALTIME, ns, when the switch received (ingress) or sent (egress) it.
  int64_t timestamp_ns = 0;
  // The frame's whole length; `data` holds its first min(wire_length, snaplen) bytes, valid only
  // during the callback that gets it.
  uint32_t wire_length = 0;
  absl::Span<const uint8_t> data;
};

// Thread-safety: Read from one thread at a time; Stop, dropped and bound_port from any thread.
class CaptureSession {
 public:
  // Stops the capture (its ring slot is free again).
  virtual ~CaptureSession() = default;

  // Calls `on_frame` for frames captured and not read yet, in the order the switch captured
  // them, at most `max_frames`, waiting (without spinning) until there is at least one, the
  // capture ended, or `deadline` passed. OK: still running (there may have been no frame).
  // Once the capture has ended and every captured frame has been delivered, returns why it
  // ended, each time it is called:
  //   ABORTED      the captured port went away (the message says why: "port down: ...")
  //   NOT_FOUND    the LAN was deleted
  //   UNAVAILABLE  the switch restarted (or died)
  //   CANCELLED    Stop() was called
  virtual absl::Status Read(absl::Time deadline, size_t max_frames,
                            absl::FunctionRef<void(const CapturedFrame&)> on_frame) = 0;
  // Ends the capture; a Read blocked in another thread returns at once. Idempotent.
  virtual void Stop() = 0;
  // Frames that matched but were lost because the ring was full (the reader was too slow).
  virtual uint64_t dropped() const = 0;
  // The port captured: CaptureSpec::port_id, or the port a `mac` capture bound to (0 until it
  // has; always 0 for a LAN capture).
  virtual uint64_t bound_port() const = 0;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_CTL_CAPTURE_SESSION_H_
