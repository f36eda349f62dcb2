// SwitchClient: clownixd's handle on clownix-switchcore. It creates the control segment, starts the
// switch (the binary path is given), talks to it over the shared-memory rings, and supervises it.
//
// State machine of the supervisor thread (the only thread that forks, reaps and reads events):
//   starting -> running --(pidfd readable: the switch died)--> waiting (throttle) -> starting ...
//   any -> stopped (Shutdown / destructor)
// On every (re)start it replays what it knows (LANs with their mode, ports of VMs with their data
// address, MAC and counters slot, taps, impairments) so running VMs' frames flow again without
// touching the VMs: the switch rebinds the same per-port data addresses. The first restart after a
// long run is immediate; quick successive crashes back off exponentially up to max_restart_delay.
//
// Thread-safety: every public method may be called from any thread. Requests block the caller
// until the switch acknowledges (or request_timeout: UNAVAILABLE). Callbacks run on the supervisor
// thread with no lock held; they may read (Ports, ReadCounters) but must not make requests
// (CreateLan, SetImpairment, ...) or call Shutdown(): the supervisor thread is the one that
// delivers the answers. Hand such work to another thread.
//
// Typical use (clownixd):
//   SwitchClient::Options o;
//   o.switchcore_path = ".../clownix-switchcore";  o.work_dir = work_dir;
//   o.on_port_event = [&](const SwitchClient::PortEvent& e) { /* topology: port up/down */ };
//   auto client = SwitchClient::Create(o);            // spawns and supervises the switch
//   (*client)->CreateLan("blue");                     // VMs:
//   eth0=daemon,MAC,unix,ControlPath("blue") auto tap = (*client)->AttachTap("blue", "tap0");
//   ctl::Impairment delay = {};  delay.delay_us = 20000;
//   (*client)->SetImpairment(port_id, ctl::Direction::kEgress, delay);
//   auto counters = (*client)->ReadCounters(port_id); // no round trip
//   CaptureSpec spec;  spec.lan = "blue";              // packet capture (capture_session.h)
//   auto capture = (*client)->StartCapture(spec);
//   (*capture)->Read(absl::Now() + absl::Seconds(1), 64, [](const CapturedFrame& f) { ... });
//
// Captures: the client creates a second memfd, the capture segment (capture_layout.h), that every
// switch it starts inherits. Captures are not replayed to a restarted switch: they end with
// UNAVAILABLE (after their last frames) and whoever wants more starts a new one.
#ifndef CLOWNIX_SWITCHCORE_CTL_SWITCH_CLIENT_H_
#define CLOWNIX_SWITCHCORE_CTL_SWITCH_CLIENT_H_

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "switchcore/ctl/capture_layout.h"
#include "switchcore/ctl/capture_segment.h"
#include "switchcore/ctl/capture_session.h"
#include "switchcore/ctl/ctl_layout.h"
#include "switchcore/ctl/ctl_segment.h"
#include "switchcore/ctl/spsc_ring.h"
#include "switchcore/daemon_protocol.h"
#include "switchcore/peer_policy.h"

namespace clownix::switchcore {

class SwitchClient {
 public:
  struct PortInfo {
    uint64_t port_id = 0;
    std::string lan;
    ctl::PortKind kind = ctl::PortKind::kVm;
    std::string tap_name;      // taps only
    DataAddress vm_address{};  // VMs only: the VM's own data address
    bool mac_known = false;
    std::array<uint8_t, 6> mac{};
    int counters_slot = -1;
  };

  struct PortEvent {
    bool up = false;  // true: port up (new, or its MAC was learned); false: port down
    PortInfo port;
    std::string reason;  // port down: why
  };

  struct Counters {
    uint64_t rx_frames = 0, rx_bytes = 0, tx_frames = 0, tx_bytes = 0;
    std::array<uint64_t, ctl::kDropCauseCount> drops{};  // indexed by ctl::DropCause
  };

  struct Options {
    std::string switchcore_path;  // the clownix-switchcore binary
    std::string work_dir;         // control sockets go to work_dir/lans/<lan>/ctl
    // Generous: the switch answers in microseconds, but on a host loaded with booting VMs (load
    // 26 on 2 CPUs, measured) a restarted switch was not scheduled in time for 2 s, and clownixd
    // gave up starting. A hung switch is still noticed, later.
    absl::Duration request_timeout = absl::Seconds(10);
    absl::Duration restart_delay = absl::Milliseconds(100);  // after a crash within 5 s of start
    absl::Duration max_restart_delay = absl::Seconds(5);
    std::vector<std::string> extra_flags;  // passed to the switch as they are
    // Uids the VMs run as, [first, last] inclusive (--vm_uid_first/--vm_uid_last). With root and
    // the switch's own uid (this process's), the only processes allowed to connect to a LAN's
    // control socket; others are closed at once (peers_refused()). Unset: root and this uid only.
    std::optional<UidRange> vm_uids;
    // Incarnation of the first switch (each restart adds one; port ids carry it). A client that
    // restores ports of an earlier client's switch starts above that switch's incarnations.
    uint32_t first_incarnation = 0;
    std::function<void(const PortEvent&)> on_port_event;
    // Restarts, replay failures (default: stderr). Called without the client's lock held, from
    // the supervisor thread or from a thread inside a call of this client, one line at a time.
    std::function<void(const std::string&)> on_log;
  };

  // Creates the segment and eventfds and starts the switch. INVALID_ARGUMENT if the binary is not
  // executable, work_dir is empty or vm_uids is not a valid range (PeerPolicy::ValidateRange);
  // INTERNAL/RESOURCE_EXHAUSTED if fds cannot be made.
  static absl::StatusOr<std::unique_ptr<SwitchClient>> Create(Options options);
  // Shutdown().
  ~SwitchClient();

  // LANs. ALREADY_EXISTS, NOT_FOUND, INVALID_ARGUMENT (bad name) as the switch says.
  absl::Status CreateLan(absl::string_view lan, ctl::LanMode mode = ctl::LanMode::kSwitch);
  absl::Status DeleteLan(absl::string_view lan);
  // Attaches host tap `tap` (created if missing) to `lan`; returns its port id.
  absl::StatusOr<uint64_t> AttachTap(absl::string_view lan, absl::string_view tap);
  absl::Status DetachTap(uint64_t port_id);
  // Sets (replaces) the impairment of one port and direction; all-zero clears it.
  absl::Status SetImpairment(uint64_t port_id, ctl::Direction direction,
                             const ctl::Impairment& impairment);
  // Re-creates a VM port that an earlier switch had (after the client itself was restarted):
  // the switch rebinds the port's data address, so the VM, which never reconnects, is reached
  // again. `port.port_id` must not be in use; `port.counters_slot` is ignored (a new slot).
  // Returns the port id. NOT_FOUND for an unknown LAN, INVALID_ARGUMENT for a bad address.
  absl::StatusOr<uint64_t> RestorePort(const PortInfo& port);

  // Starts a packet capture (capture_session.h) in a free slot of the capture segment; the switch
  // has checked the spec and started when this returns. INVALID_ARGUMENT for a bad spec (LAN
  // name, snaplen, program length; a program bpf_validate refuses, as the switch says);
  // NOT_FOUND for an unknown LAN or a port not on it; RESOURCE_EXHAUSTED when ctl::kCaptureSlots
  // captures exist already (sessions not destroyed yet count); UNAVAILABLE while the switch
  // restarts or does not answer; FAILED_PRECONDITION after Shutdown. The session may outlive the
  // client: it then ends with UNAVAILABLE. Its Stop and destructor send kStopCapture and wait for
  // the answer, like any request: not from a callback of this client.
  absl::StatusOr<std::unique_ptr<CaptureSession>> StartCapture(const CaptureSpec& spec);

  // Counters of a port, read straight from shared memory (no round trip). NOT_FOUND for an
  // unknown port; UNAVAILABLE while the switch is restarting or has no counters slot for it.
  absl::StatusOr<Counters> ReadCounters(uint64_t port_id) const;
  // Ports known now (VMs that did the handshake or were restored, and taps).
  std::vector<PortInfo> Ports() const;
  std::string ControlPath(absl::string_view lan) const;

  // The running switch's pid (0 while none runs) and how many times it was restarted.
  pid_t pid() const;
  int restarts() const;
  // Events the current switch could not deliver because the event ring was full.
  uint64_t events_lost() const;
  // Control connections the current switch refused because of the peer's uid (Options::vm_uids).
  uint64_t peers_refused() const;
  // Waits until a switch runs and has acknowledged everything replayed to it. DEADLINE_EXCEEDED.
  absl::Status WaitReady(absl::Duration timeout) const;
  // Asks the switch to exit (SIGKILL after 2 s), stops supervising. Idempotent.
  void Shutdown();

 private:
  struct Waiter {
    bool done = false;
    absl::Status status;
    uint64_t port_id = 0;
    int counters_slot = -1;
  };
  struct Replay {
    ctl::RequestType type;
    uint64_t port_id;
  };
  static constexpr uint64_t kReplayBit = 1ull << 63;
  // The CaptureSession of a slot, and how sessions reach this client while it lives.
  class Capture;
  struct CaptureLink;
  struct CaptureSlot {
    Capture* session = nullptr;  // nullptr: no session holds the slot
    pid_t running_in = 0;        // the switch that may write to the slot; 0: none
  };

  explicit SwitchClient(Options options) : options_(std::move(options)) {}

  // Sends `req` and waits for its answer (request_timeout); then delivers queued log lines.
  absl::StatusOr<Waiter> Call(ctl::Request& req) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<Waiter> CallAndWait(ctl::Request& req) ABSL_LOCKS_EXCLUDED(mu_);
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Supervise();
  bool SpawnLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void QueueReplayLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DrainEvents();
  void HandleEventLocked(const ctl::Event& ev, std::vector<PortEvent>& callbacks)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Log lines are queued under mu_ and delivered by FlushLog once it is released.
  void LogLocked(std::string line) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushLog() ABSL_LOCKS_EXCLUDED(mu_);
  // Captures: kStopCapture for `slot` if a switch still runs it; then, from the session's
  // destructor, the slot is free again (and its memory given back once no switch writes to it).
  void StopCapture(uint32_t slot) ABSL_LOCKS_EXCLUDED(mu_);
  void ReleaseCapture(uint32_t slot) ABSL_LOCKS_EXCLUDED(mu_);
  void ReleaseCaptureMemoryLocked(uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  std::unique_ptr<ctl::CtlSegment> segment_;
  // Shared with the sessions, which may outlive the client.
  std::shared_ptr<ctl::CaptureSegment> capture_segment_;
  std::shared_ptr<CaptureLink> capture_link_;
  int request_efd_ = -1, event_efd_ = -1, stop_efd_ = -1;
  std::thread supervisor_;

  mutable absl::Mutex mu_;
  std::unique_ptr<ctl::SpscRing> requests_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ctl::SpscRing> events_ ABSL_GUARDED_BY(mu_);
  std::deque<ctl::Request> outbox_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> log_queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, Replay> replays_ ABSL_GUARDED_BY(mu_);
  uint64_t next_request_id_ ABSL_GUARDED_BY(mu_) = 1;
  // Desired state, replayed after a restart.
  absl::flat_hash_map<std::string, ctl::LanMode> lans_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, PortInfo> ports_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::pair<uint64_t, uint32_t>, ctl::Impairment> impairments_
      ABSL_GUARDED_BY(mu_);
  CaptureSlot capture_slots_[ctl::kCaptureSlots] ABSL_GUARDED_BY(mu_);
  // Child process.
  pid_t pid_ ABSL_GUARDED_BY(mu_) = 0;
  int pidfd_ ABSL_GUARDED_BY(mu_) = -1;
  bool started_once_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int restarts_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t incarnation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time started_at_ ABSL_GUARDED_BY(mu_);
  absl::Duration next_delay_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  bool shut_down_ = false;  // Shutdown() ran (only touched by the caller of Shutdown)
  absl::Mutex shutdown_mu_;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_CTL_SWITCH_CLIENT_H_
