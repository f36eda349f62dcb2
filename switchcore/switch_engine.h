// SwitchEngine: the whole switch in one thread. A run/wait/block loop over one epoll set holding:
// the control channel's request eventfd, a timerfd for frames held by impairments, a signalfd
// (SIGTERM/SIGINT: clean exit), each LAN's listening control socket, each handshake in progress,
// and each port's data socket (or tap) and control stream.
//
// Forwarding round: one port becomes readable -> recvmmsg (or up to kBatch tap reads) into the
// engine's receive buffers -> per frame: validate, learn, look up, and append an iovec pointing at
// the frame to each destination port's transmit batch -> one sendmmsg per destination port. A
// receiver whose queue is full (EAGAIN) gets the rest copied into its bounded backlog (pool frames)
// and EPOLLOUT armed on its connected socket, so one slow VM never blocks the others. Nothing is
// allocated per frame: receive buffers, batches, backlogs, the frame pool and the delay heap are
// all sized at start-up.
//
// Each VM port has its own data socket, bound to an abstract address derived from (work_dir, LAN,
// VM address) and connected to the VM's address. Why not one socket per LAN: a unix datagram
// queue holds only net.unix.max_dgram_qlen (10) frames, shared by every sender; a socket per port
// gives each VM its own queue, lets the kernel refuse frames from anyone but that VM (connected
// datagram sockets accept only their peer), and makes EPOLLOUT report room at that VM. The address
// is still deterministic, so a restarted switch rebinds it from a restore request.
//
// Who may join a LAN: its control socket is connectable by every uid (VMs run as their own), so
// each accepted connection's SO_PEERCRED is checked first (PeerPolicy: root, the switch's uid,
// the configured VM uid range; anyone else is closed at once and counted in the segment header's
// peers_refused), and a VM's uid may name only an abstract data address.
//
// Packet capture (switchcore/ctl/capture_layout.h): a LAN lists its running captures
// (CaptureWriter). A frame is offered to them at ingress, once, as its sender sent it (before
// ingress impairments), if the LAN has any: one predictable branch per frame when it has none.
// A port capture also sees what the port is actually given (egress, after impairments: at the
// points where tx counters count it), if the port has captures (Port::captures). A MAC-bound
// capture binds to the first port of its LAN that sends from that MAC, before that frame is
// forwarded. Heads are published, and sleeping readers woken, at the end of each round.
//
// Port ids are (incarnation << 32 | n): unique across restarts without coordination.
#ifndef CLOWNIX_SWITCHCORE_SWITCH_ENGINE_H_
#define CLOWNIX_SWITCHCORE_SWITCH_ENGINE_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "switchcore/capture_writer.h"
#include "switchcore/ctl/capture_layout.h"
#include "switchcore/ctl/capture_segment.h"
#include "switchcore/ctl/ctl_layout.h"
#include "switchcore/ctl/ctl_segment.h"
#include "switchcore/ctl/spsc_ring.h"
#include "switchcore/delay_queue.h"
#include "switchcore/fast_random.h"
#include "switchcore/frame_pool.h"
#include "switchcore/lan.h"
#include "switchcore/peer_policy.h"
#include "switchcore/port.h"

namespace clownix::switchcore {

class SwitchEngine {
 public:
  struct Options {
    std::string work_dir;
    uint32_t incarnation = 0;  // < 2^24
    Lan::Limits lan_limits;
    int pool_frames = 8192;
    int64_t handshake_timeout_ns = 2ll * 1000 * 1000 * 1000;
    uint64_t seed = 1;
    // Uids of clownix's VMs: with root and the switch's own uid, the only ones that may connect to
    // a LAN's control socket (PeerPolicy). None: root and the switch's uid only.
    std::optional<UidRange> vm_uids;
  };

  // Takes the attached control segment, the two eventfds (owned from now on) and the attached
  // capture segment (none: captures are refused with FAILED_PRECONDITION). Blocks SIGTERM and
  // SIGINT in the calling thread (they end Run() cleanly).
  static absl::StatusOr<std::unique_ptr<SwitchEngine>> Create(
      const Options& options, std::unique_ptr<ctl::CtlSegment> segment, int request_eventfd,
      int event_eventfd, std::unique_ptr<ctl::CaptureSegment> capture_segment = nullptr);
  ~SwitchEngine();

  // Runs until a shutdown request or SIGTERM/SIGINT; then removes every LAN's control socket.
  absl::Status Run();
  // One turn of the loop: waits up to `timeout_ms` (-1: forever) for events and handles them.
  // Run() is Poll(-1) until shut down; tests and the fuzzer drive the engine with Poll(0).
  absl::Status Poll(int timeout_ms);
  bool shut_down() const { return shutdown_; }

 private:
  enum Tag : uint64_t {
    kTagRequest = 1,
    kTagTimer,
    kTagSignal,
    kTagListen,
    kTagHandshake,
    kTagPortData,
    kTagPortCtl
  };
  static uint64_t Key(Tag tag, uint64_t id) { return (static_cast<uint64_t>(tag) << 56) | id; }
  static constexpr int kCtlReadsPerWakeup = 16;
  struct PendingHandshake {
    Lan* lan;
    bool privileged_peer;  // root or the switch's uid (PeerPolicy::Privileged)
  };

  explicit SwitchEngine(const Options& options);

  void Dispatch(uint64_t key, uint32_t events);
  void SignalClient();
  void EndRound();

  // Control channel.
  void OnRequests();
  absl::StatusOr<std::pair<uint64_t, int>> HandleRequest(const ctl::Request& req);
  absl::StatusOr<std::pair<uint64_t, int>> CreateLan(const ctl::Request& req);
  absl::Status DeleteLan(const ctl::Request& req);
  absl::StatusOr<std::pair<uint64_t, int>> AttachTap(const ctl::Request& req);
  absl::StatusOr<std::pair<uint64_t, int>> RestorePort(const ctl::Request& req);
  absl::Status SetImpairment(const ctl::Request& req);
  absl::StatusOr<std::pair<uint64_t, int>> StartCapture(const ctl::Request& req);
  absl::Status StopCapture(const ctl::Request& req);
  absl::StatusOr<Lan*> FindLan(const char (&name)[ctl::kLanNameSize]);
  absl::Status CheckNewPortId(uint64_t id);
  void Emit(ctl::Event& event);
  void EmitPortUp(const Port& port);
  void EmitPortDown(const Port& port, absl::string_view reason);

  // Captures.
  // Ends the capture in `slot`: publishes what it wrote, then (with a status) says why in a
  // kCaptureEnded event.
  void EndCapture(uint32_t slot, const absl::Status& why);
  void EndCaptures(const Lan& lan, uint64_t port_id, const absl::Status& why);
  void CaptureIngress(Port& src, const uint8_t* frame, size_t len);
  void CaptureEgress(Port& dst, const uint8_t* frame, size_t len);
  void PublishCaptures();

  // Handshakes.
  void OnListenReadable(Lan& lan);
  void OnHandshakeReadable(uint64_t hs_id);
  void CompleteHandshake(Lan& lan, uint64_t hs_id);
  void DropHandshake(Lan& lan, uint64_t hs_id);
  void ExpireHandshakes();

  // Ports.
  absl::StatusOr<Port*> AddVmPort(Lan& lan, const DataAddress& vm_address, uint64_t id,
                                  int wanted_slot);
  absl::StatusOr<Port*> Register(std::unique_ptr<Port> port, int wanted_slot);
  void RemovePort(uint64_t id, absl::string_view reason);
  void Doom(Port& port, absl::string_view reason);
  Port* FindPort(uint64_t id);
  uint64_t NewPortId();

  // Forwarding.
  void OnPortReadable(Port& port);
  void OnPortWritable(Port& port);
  void OnPortCtl(Port& port, uint32_t events);
  void Ingress(Port& src, uint8_t* frame, size_t len, bool truncated, bool held);
  void Egress(Port& dst, const uint8_t* frame, size_t len);
  void Transmit(Port& dst, const uint8_t* frame, size_t len);
  void Backlog(Port& dst, const uint8_t* frame, size_t len);
  void FlushPort(Port& port);
  void FlushDirty();
  void SetEpollOut(Port& port, bool on);
  void Hold(Port& port, ctl::Direction dir, const uint8_t* frame, size_t len);
  void OnTimer();
  void ArmTimer();
  static void Drop(Port& port, uint32_t cause, uint64_t n = 1);

  Options options_;
  PeerPolicy peers_;
  int epfd_ = -1, timerfd_ = -1, signalfd_ = -1, request_efd_ = -1, event_efd_ = -1;
  std::unique_ptr<ctl::CtlSegment> segment_;
  std::unique_ptr<ctl::SpscRing> requests_;
  std::unique_ptr<ctl::SpscRing> events_;
  bool events_pending_ = false;
  bool shutdown_ = false;

  absl::flat_hash_map<std::string, std::unique_ptr<Lan>> lans_;
  absl::flat_hash_map<uint64_t, Lan*> lans_by_id_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Port>> ports_;
  absl::flat_hash_map<uint64_t, PendingHandshake> handshakes_;
  uint64_t next_lan_id_ = 1, next_hs_id_ = 1, next_port_ = 1;
  int pending_handshakes_ = 0;
  std::vector<bool> slot_used_;
  ctl::PortCounters spare_counters_{};  // for ports beyond the counters table

  int64_t now_ns_ = 0;
  std::vector<uint8_t> rx_buf_;
  struct mmsghdr rx_msgs_[Port::kBatch];
  struct iovec rx_iov_[Port::kBatch];
  std::vector<Port*> dirty_;
  std::vector<std::pair<uint64_t, std::string>> doomed_;
  FramePool pool_;
  DelayQueue delayed_;
  int64_t timer_armed_ns_ = 0;
  FastRandom rng_;
  char scratch_[4096];

  std::unique_ptr<ctl::CaptureSegment> capture_segment_;
  std::unique_ptr<CaptureWriter> captures_[ctl::kCaptureSlots];
  int capture_count_ = 0;
  CaptureClock capture_clock_;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_SWITCH_ENGINE_H_
