#include "switchcore/capture_writer.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"

// After <linux/filter.h> (capture_writer.h): both define the classic BPF opcodes alike.
#include <pcap/bpf.h>

namespace clownix::switchcore {
namespace {

static_assert(sizeof(struct bpf_insn) == sizeof(sock_filter));
static_assert(offsetof(struct bpf_insn, k) == offsetof(sock_filter, k));

inline uint64_t AlignUp(uint64_t n) {
  return (n + ctl::kCaptureAlign - 1) & ~uint64_t{ctl::kCaptureAlign - 1};
}

}  // namespace

int64_t CaptureClock::Now() {
  if (ns_ == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ns_ = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
  return ns_;
}

absl::StatusOr<std::unique_ptr<CaptureWriter>> CaptureWriter::Create(ctl::CaptureSlotHeader* slot,
                                                                     const sock_filter* program,
                                                                     uint8_t* ring) {
  // Each field is read from shared memory once; only the copies are checked and used.
  uint32_t snaplen = slot->snaplen;
  uint32_t len = slot->program_len;
  if (snaplen < 1 || snaplen > ctl::kCaptureMaxSnaplen) {
    return absl::InvalidArgumentError(
        absl::StrCat("snaplen ", snaplen, " is not in 1..", ctl::kCaptureMaxSnaplen));
  }
  if (len > ctl::kCaptureMaxInsns) {
    // Event messages hold 63 characters: short ones.
    return absl::InvalidArgumentError(
        absl::StrCat("filter of ", len, " instructions, limit ", ctl::kCaptureMaxInsns));
  }
  auto writer = std::unique_ptr<CaptureWriter>(new CaptureWriter(slot, ring, snaplen));
  if (len > 0) {
    writer->program_.assign(program, program + len);
    if (!bpf_validate(reinterpret_cast<const struct bpf_insn*>(writer->program_.data()),
                      static_cast<int>(len))) {
      return absl::InvalidArgumentError("filter program refused by bpf_validate");
    }
  }
  return writer;
}

bool CaptureWriter::Reserve(uint64_t bytes) {
  if (head_ + bytes - tail_seen_ <= ctl::kCaptureRingBytes) return true;
  uint64_t tail = shm_->tail.value.load(std::memory_order_acquire);
  // A tail behind the last one seen or ahead of what was written is not the reader's: keep the
  // last good one (the ring looks full until the reader makes sense again).
  if (tail < tail_seen_ || tail > published_head_) return false;
  tail_seen_ = tail;
  return head_ + bytes - tail_seen_ <= ctl::kCaptureRingBytes;
}

void CaptureWriter::Offer(uint64_t port, ctl::Direction direction, CaptureClock& clock,
                          const uint8_t* frame, size_t len) {
  if (!program_.empty() &&
      bpf_filter(reinterpret_cast<const struct bpf_insn*>(program_.data()), frame,
                 static_cast<u_int>(len), static_cast<u_int>(len)) == 0) {
    return;
  }
  ++matched_;
  uint32_t captured = static_cast<uint32_t>(len < snaplen_ ? len : snaplen_);
  uint64_t size = AlignUp(sizeof(ctl::CaptureRecord) + captured);
  uint64_t offset = head_ % ctl::kCaptureRingBytes;
  uint64_t to_end = ctl::kCaptureRingBytes - offset;
  uint64_t pad = size > to_end ? to_end : 0;
  if (!Reserve(pad + size)) {
    ++dropped_;
    return;
  }
  if (pad > 0) {
    ctl::CaptureRecord padding;
    padding.size = static_cast<uint32_t>(pad);
    padding.type = static_cast<uint32_t>(ctl::CaptureRecordType::kPadding);
    std::memcpy(ring_ + offset, &padding, 8);  // a padding record may be only 8 bytes
    head_ += pad;
    offset = 0;
  }
  ctl::CaptureRecord rec = {};
  rec.size = static_cast<uint32_t>(size);
  rec.type = static_cast<uint32_t>(ctl::CaptureRecordType::kFrame);
  rec.port_id = port;
  rec.timestamp_ns = clock.Now();
  rec.wire_length = static_cast<uint32_t>(len);
  rec.captured_length = captured;
  rec.direction = static_cast<uint32_t>(direction);
  std::memcpy(ring_ + offset, &rec, sizeof(rec));
  std::memcpy(ring_ + offset + sizeof(rec), frame, captured);
  head_ += size;
}

void CaptureWriter::Bind(uint64_t port) {
  port_id = port;
  mac_pending = false;
  shm_->bound_port.store(port, std::memory_order_relaxed);
}

void CaptureWriter::Publish() {
  if (matched_ != published_matched_ || dropped_ != published_dropped_) {
    shm_->matched.store(matched_, std::memory_order_relaxed);
    shm_->dropped.store(dropped_, std::memory_order_relaxed);
    published_matched_ = matched_;
    published_dropped_ = dropped_;
  }
  if (head_ == published_head_) return;
  published_head_ = head_;
  // seq_cst store, then seq_cst load of the wake word: with the reader's store of `wake` and load
  // of `head` (both seq_cst), either the reader sees the new head or this sees its wake word.
  shm_->head.value.store(head_, std::memory_order_seq_cst);
  if (shm_->wake.load(std::memory_order_seq_cst) != 0) {
    shm_->wake.store(0, std::memory_order_seq_cst);
    // A shared futex (no FUTEX_PRIVATE_FLAG): the reader is another process mapping the memfd.
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&shm_->wake), FUTEX_WAKE, INT_MAX, nullptr,
            nullptr, 0);
  }
}

}  // namespace clownix::switchcore
