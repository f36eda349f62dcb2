// The shared-memory control channel between clownixd (the client) and clownix-switchcore.
// This header is the one place its layout is written down.
//
// The client creates the segment (a memfd of kSegmentSize bytes), initialises the header, and
// starts switchcore with the memfd and two eventfds inherited (flags --ctl_fd, --request_eventfd,
// --event_eventfd). The segment is, in order, at fixed offsets:
//
//   SegmentHeader        magic, version, sizes/offsets (checked, never trusted), ring indexes
//   Request[kRequestSlots]   ring, client -> switch
//   Event[kEventSlots]       ring, switch -> client
//   PortCounters[kCounterSlots]  per-port counters, written by the switch, read by the client
//
// Rings are single-producer single-consumer with fixed 256-byte records. The producer writes the
// record, stamps it with its sequence number (1, 2, ...), then publishes head = seq (release); the
// consumer reads head (acquire), copies the record out of shared memory, checks the copy's
// sequence number, then publishes tail. Each side keeps its own index privately and only reads the
// other side's, validating it (a head behind the tail or more than a ring ahead is corruption). The
// producer writes 1 to the peer's eventfd after publishing (request_eventfd wakes the switch,
// event_eventfd wakes the client).
//
// Strings are NUL-padded char arrays; a reader rejects one that is not NUL-terminated. Every field
// read from the segment is validated by the reader: the other side may be dead or scribbling.
//
// Packet capture: the frames go through a second memfd, the capture segment (capture_layout.h,
// flag --capture_fd); this channel carries only its control: kStartCapture and kStopCapture name
// a slot of that segment in Request::capture_slot, and kCaptureEnded names it in
// Event::capture_slot.
#ifndef CLOWNIX_SWITCHCORE_CTL_CTL_LAYOUT_H_
#define CLOWNIX_SWITCHCORE_CTL_CTL_LAYOUT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace clownix::switchcore::ctl {

inline constexpr uint32_t kCtlMagic = 0x53584c43;  // "CLXS"
inline constexpr uint32_t kCtlVersion = 3;
inline constexpr uint32_t kRecordSize = 256;
inline constexpr uint32_t kRequestSlots = 256;
inline constexpr uint32_t kEventSlots = 1024;
inline constexpr uint32_t kCounterSlots = 1024;
inline constexpr size_t kLanNameSize = 32;   // up to 31 chars of [A-Za-z0-9_.-]
inline constexpr size_t kTapNameSize = 16;   // IFNAMSIZ
inline constexpr size_t kAddressSize = 110;  // struct sockaddr_un
inline constexpr size_t kMessageSize = 64;

// One ring index on its own cache line.
struct alignas(64) RingIndex {
  std::atomic<uint64_t> value;
};

struct SegmentHeader {
  uint32_t magic;                    // kCtlMagic
  uint32_t version;                  // kCtlVersion
  uint64_t size;                     // kSegmentSize
  uint32_t request_offset;           // offsetof requests, = kRequestOffset
  uint32_t request_slots;            // kRequestSlots
  uint32_t event_offset;             // kEventOffset
  uint32_t event_slots;              // kEventSlots
  uint32_t counters_offset;          // kCountersOffset
  uint32_t counter_slots;            // kCounterSlots
  uint32_t record_size;              // kRecordSize
  uint32_t counter_size;             // sizeof(PortCounters)
  std::atomic<uint32_t> switch_pid;  // written by the switch once attached (informational)
  uint32_t reserved0;
  std::atomic<uint64_t> events_lost;  // events the switch dropped because the event ring was full
  // Control connections the switch closed at once because of who connected (not root, not its
  // own uid, not a VM uid: switchcore/peer_policy.h).
  std::atomic<uint64_t> peers_refused;
  RingIndex request_head;  // written by the client
  RingIndex request_tail;  // written by the switch
  RingIndex event_head;    // written by the switch
  RingIndex event_tail;    // written by the client
};

enum class RequestType : uint32_t {
  kCreateLan = 1,      // lan, lan_mode
  kDeleteLan = 2,      // lan
  kAttachTap = 3,      // lan, tap (created if missing, opened if it exists), port_id (0 = new)
  kDetachTap = 4,      // port_id
  kSetImpairment = 5,  // port_id, direction, impairment
  kRestorePort = 6,    // lan, port_id, vm_address, mac/mac_known, counters_slot
  kShutdown = 7,
  // lan, capture_slot; port_id: the port captured, or 0 with mac/mac_known: the first port of the
  // LAN that sends from that MAC, or 0 without a MAC: the whole LAN. Snaplen and program are in
  // the slot (capture_layout.h). Errors: INVALID_ARGUMENT (slot, snaplen, program), NOT_FOUND
  // (LAN, or port not on that LAN), FAILED_PRECONDITION (slot busy, no capture segment).
  kStartCapture = 8,
  kStopCapture = 9,  // capture_slot; NOT_FOUND if no capture runs there (it ended already)
};

enum class LanMode : uint32_t { kSwitch = 0, kHub = 1 };

// Direction of an impairment, seen from the LAN: kIngress = frames from the port into the LAN,
// kEgress = frames from the LAN out of the port.
enum class Direction : uint32_t { kIngress = 0, kEgress = 1 };

// Link impairments (the netem model). ppm = parts per million. All zero = a perfect link.
struct Impairment {
  uint32_t delay_us;
  uint32_t jitter_us;  // uniform in [-jitter, +jitter], clamped at 0 total delay
  uint32_t loss_ppm;
  uint32_t duplicate_ppm;
  uint32_t corrupt_ppm;  // one random bit flipped in the frame
  uint32_t reorder_ppm;  // sent at once, overtaking delayed frames
  uint64_t rate_bps;     // 0 = unlimited
  uint32_t queue_limit;  // frames waiting in this impairment at most (0 = default 1000)
  uint32_t reserved;
};
static_assert(sizeof(Impairment) == 40);

struct Request {
  uint64_t seq;         // ring sequence number, set by the ring
  uint32_t type;        // RequestType
  uint32_t lan_mode;    // LanMode
  uint64_t request_id;  // echoed in the ack/error event
  uint64_t port_id;
  char lan[kLanNameSize];
  char tap[kTapNameSize];
  uint32_t direction;     // Direction
  int32_t counters_slot;  // restore: the slot the port had; -1 = any
  Impairment impairment;
  uint8_t vm_address[kAddressSize];
  uint8_t mac[6];
  uint8_t mac_known;
  uint8_t capture_slot;  // kStartCapture, kStopCapture: < kCaptureSlots (capture_layout.h)
  uint8_t reserved[8];
};
static_assert(sizeof(Request) == kRecordSize);

enum class EventType : uint32_t {
  kAck = 1,       // request_id; port_id and counters_slot for attach/restore
  kError = 2,     // request_id, status_code (absl::StatusCode), message
  kPortUp = 3,    // lan, port_id, port_kind, vm_address, mac (when mac_known), counters_slot
  kPortDown = 4,  // lan, port_id, message (why)
  // capture_slot, request_id (of its kStartCapture), port_id (the captured port, if any),
  // status_code and message: ABORTED "port down: <why>", NOT_FOUND (the LAN was deleted).
  // Every record of the capture is published (head) before this event is.
  kCaptureEnded = 5,
};

enum class PortKind : uint32_t { kVm = 0, kTap = 1 };

struct Event {
  uint64_t seq;
  uint32_t type;        // EventType
  int32_t status_code;  // absl::StatusCode for kError
  uint64_t request_id;
  uint64_t port_id;
  int32_t counters_slot;
  uint32_t port_kind;  // PortKind
  char lan[kLanNameSize];
  uint8_t mac[6];
  uint8_t mac_known;
  uint8_t capture_slot;  // kCaptureEnded
  uint8_t vm_address[kAddressSize];
  char message[kMessageSize];
  uint8_t reserved[2];
};
static_assert(sizeof(Event) == kRecordSize);

// Why a frame was dropped; index into PortCounters::drops.
enum DropCause : uint32_t {
  kDropTooShort = 0,     // < 14 bytes
  kDropTooLong = 1,      // > 1518 bytes or truncated
  kDropBadSource = 2,    // multicast source MAC
  kDropQueueFull = 3,    // receiver's queue full and this port's backlog full
  kDropPeerGone = 4,     // the VM's socket is gone
  kDropImpairLoss = 5,   // random loss impairment
  kDropImpairQueue = 6,  // impairment queue over its limit or frame pool empty
  kDropTapError = 7,     // write to a tap failed
  kDropCauseCount = 8,
};

// Counters of one port. The switch is the only writer (relaxed stores); the client reads them
// whenever it likes. port_id 0 = slot free.
struct alignas(64) PortCounters {
  std::atomic<uint64_t> port_id;
  std::atomic<uint64_t> rx_frames;  // frames received from the port
  std::atomic<uint64_t> rx_bytes;
  std::atomic<uint64_t> tx_frames;  // frames sent to the port
  std::atomic<uint64_t> tx_bytes;
  std::atomic<uint64_t> drops[kDropCauseCount];
};
static_assert(sizeof(PortCounters) == 128);

inline constexpr uint32_t kRequestOffset = 1024;
inline constexpr uint32_t kEventOffset = kRequestOffset + kRequestSlots * kRecordSize;
inline constexpr uint32_t kCountersOffset = kEventOffset + kEventSlots * kRecordSize;
inline constexpr uint64_t kSegmentSize =
    kCountersOffset + static_cast<uint64_t>(kCounterSlots) * sizeof(PortCounters);
static_assert(sizeof(SegmentHeader) <= kRequestOffset);

}  // namespace clownix::switchcore::ctl

#endif  // CLOWNIX_SWITCHCORE_CTL_CTL_LAYOUT_H_
