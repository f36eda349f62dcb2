// The shared-memory capture segment between clownixd (the client) and clownix-switchcore: where
// the switch puts the frames of running packet captures (capture_session.h). This header is the
// one place its layout is written down.
//
// The client creates the segment (a memfd of kCaptureSegmentSize bytes, sparse: a page costs
// memory only once touched), initialises its header, and passes it to every switch it starts
// (flag --capture_fd) next to the control segment (ctl_layout.h). The segment is a header page
// followed by kCaptureSlots slots; a capture runs in one slot:
//
//   CaptureSlotHeader   written by the client before kStartCapture (snaplen, program length),
//                       the ring indexes, the switch's counters, the reader's wake-up word
//   program             up to kCaptureMaxInsns classic BPF instructions, written by the client
//   ring                kCaptureRingBytes of records, written by the switch
//
// Starting: the client picks a free slot, zeroes its indexes and counters, writes snaplen and the
// program, and sends kStartCapture (ctl_layout.h) naming the slot. The switch copies snaplen and
// the program into its own memory once, checks them (bpf_validate), and never reads them again.
// Ending: kStopCapture from the client, or kCaptureEnded from the switch (the port went down, the
// LAN was deleted); a slot is free again once the switch has acknowledged the stop, said the
// capture ended, or exited. The client then punches the slot's program and ring out of the memfd
// (fallocate PUNCH_HOLE): an ended capture costs no memory.
//
// The ring is single-producer (the switch) single-consumer (the client), with byte indexes that
// only grow: `head` = bytes written by the switch, `tail` = bytes consumed by the client; a
// record starts at index % kCaptureRingBytes. The switch writes records, then publishes head
// (release) at the end of its forwarding round; the client reads head (acquire), copies each
// record out of shared memory and checks it, then publishes tail. Each side keeps its own index
// and validates the other's (head - tail must be in [0, kCaptureRingBytes]). Records are 8-byte
// aligned and never wrap: a record that does not fit before the end of the ring is preceded by a
// padding record filling the rest. A frame that does not fit in the free space is counted in
// `dropped` and not written: a slow reader loses capture frames, never forwarded ones.
//
// Wake-up without a syscall per frame: a reader that finds the ring empty stores 1 into `wake`
// (seq_cst), checks head again, and sleeps in FUTEX_WAIT on `wake` (a shared futex: the memfd is
// mapped MAP_SHARED by both processes, so the kernel keys the futex on the page, not on the
// address space). At the end of a round in which a slot got records, the switch publishes head
// (seq_cst), and if `wake` is not 0, sets it to 0 and calls FUTEX_WAKE: at most one syscall per
// slot per round, none while the reader is busy. A reader that found the ring empty first dozes
// for a millisecond with `wake` at 0 (FUTEX_WAIT on 0 with a timeout, which the switch does not
// wake), so under steady traffic the switch wakes a slot's reader at most about once per
// millisecond, not once per round. (Per-slot eventfds would need fds passed at spawn for slots
// that may never be used, and a write per round too.)
//
// Every field read from the segment is validated by its reader: the other side may be dead or
// scribbling.
#ifndef CLOWNIX_SWITCHCORE_CTL_CAPTURE_LAYOUT_H_
#define CLOWNIX_SWITCHCORE_CTL_CAPTURE_LAYOUT_H_

#include <linux/filter.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "switchcore/ctl/ctl_layout.h"

namespace clownix::switchcore::ctl {

inline constexpr uint32_t kCaptureMagic = 0x50434c43;  // "CLCP"
inline constexpr uint32_t kCaptureVersion = 1;
inline constexpr uint32_t kCaptureSlots = 16;
inline constexpr uint32_t kCaptureMaxInsns = BPF_MAXINSNS;  // 4096, the kernel's limit
inline constexpr uint32_t kCaptureRingBytes = 4u << 20;
inline constexpr uint32_t kCaptureMaxSnaplen = 65535;
inline constexpr uint32_t kCaptureAlign = 8;  // records start at multiples of 8

struct CaptureSegmentHeader {
  uint32_t magic;           // kCaptureMagic
  uint32_t version;         // kCaptureVersion
  uint64_t size;            // kCaptureSegmentSize
  uint32_t slots;           // kCaptureSlots
  uint32_t slot_size;       // kCaptureSlotSize
  uint32_t slot_offset;     // kCaptureSlotOffset
  uint32_t program_offset;  // kCaptureProgramOffset (within a slot)
  uint32_t ring_offset;     // kCaptureRingOffset (within a slot)
  uint32_t ring_bytes;      // kCaptureRingBytes
  uint32_t max_insns;       // kCaptureMaxInsns
  uint32_t record_size;     // sizeof(CaptureRecord)
};

// The head of a slot, at the start of its first page.
struct CaptureSlotHeader {
  // Written by the client before kStartCapture, copied once by the switch.
  uint32_t snaplen;      // bytes kept of each frame, 1..kCaptureMaxSnaplen
  uint32_t program_len;  // instructions in `program`, 0..kCaptureMaxInsns (0: every frame)
  RingIndex head;        // bytes written, by the switch
  RingIndex tail;        // bytes consumed, by the client
  // Written by the switch (relaxed), read by the client.
  alignas(64) std::atomic<uint64_t> matched;  // frames that passed the filter (kept or dropped)
  std::atomic<uint64_t> dropped;              // of those, lost because the ring was full
  std::atomic<uint64_t> bound_port;           // a MAC-bound capture's port once bound, else 0
  // The reader's futex word: 1 = a reader sleeps or is about to (see above).
  alignas(64) std::atomic<uint32_t> wake;
};
static_assert(sizeof(std::atomic<uint32_t>) == 4, "futex words are 32 bits");

enum class CaptureRecordType : uint32_t { kFrame = 1, kPadding = 2 };

// One record in the ring. A padding record has only `size` and `type` meaningful (it may be as
// short as 8 bytes) and reaches exactly the end of the ring. A frame record is
// sizeof(CaptureRecord) + captured_length bytes, rounded up to kCaptureAlign, then the frame's
// first captured_length bytes follow the header.
struct CaptureRecord {
  uint32_t size;             // bytes of the whole record, a multiple of kCaptureAlign
  uint32_t type;             // CaptureRecordType
  uint64_t port_id;          // the port it came from (kIngress) or went to (kEgress)
  int64_t timestamp_ns;      // CLOCK_REALTIME when the switch received or sent it
  uint32_t wire_length;      // the frame's length
  uint32_t captured_length;  // min(wire_length, snaplen)
  uint32_t direction;        // Direction (ctl_layout.h)
  uint32_t reserved;
};
static_assert(sizeof(CaptureRecord) == 40);
static_assert(sizeof(CaptureRecord) % kCaptureAlign == 0);

inline constexpr uint32_t kCaptureSlotOffset = 4096;
inline constexpr uint32_t kCaptureProgramOffset = 4096;
inline constexpr uint32_t kCaptureRingOffset =
    kCaptureProgramOffset + kCaptureMaxInsns * sizeof(sock_filter);
inline constexpr uint32_t kCaptureSlotSize = kCaptureRingOffset + kCaptureRingBytes;
inline constexpr uint64_t kCaptureSegmentSize =
    kCaptureSlotOffset + static_cast<uint64_t>(kCaptureSlots) * kCaptureSlotSize;
static_assert(sizeof(CaptureSegmentHeader) <= kCaptureSlotOffset);
static_assert(sizeof(CaptureSlotHeader) <= kCaptureProgramOffset);
static_assert(kCaptureRingOffset % 4096 == 0 && kCaptureSlotSize % 4096 == 0);
static_assert(sizeof(sock_filter) == 8);

}  // namespace clownix::switchcore::ctl

#endif  // CLOWNIX_SWITCHCORE_CTL_CAPTURE_LAYOUT_H_
