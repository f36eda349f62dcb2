#include "switchcore/ctl/capture_ring_reader.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace clownix::switchcore::ctl {

CaptureRingReader::CaptureRingReader(CaptureSlotHeader* slot, const uint8_t* ring)
    : slot_(slot), ring_(ring), buf_(kCaptureMaxSnaplen) {}

absl::Status CaptureRingReader::Broken(absl::string_view why) {
  broken_ = absl::InternalError(absl::StrCat("capture ring: ", why));
  return broken_;
}

bool CaptureRingReader::HasData() const {
  return slot_->head.value.load(std::memory_order_seq_cst) != tail_;
}

absl::StatusOr<size_t> CaptureRingReader::Drain(
    size_t max_frames, absl::FunctionRef<void(const CapturedFrame&)> on_frame) {
  if (!broken_.ok()) return broken_;
  uint64_t head = slot_->head.value.load(std::memory_order_acquire);
  if (head < tail_ || head - tail_ > kCaptureRingBytes) {
    return Broken(absl::StrCat("head ", head, " does not fit tail ", tail_));
  }
  size_t delivered = 0;
  while (tail_ != head && delivered < max_frames) {
    uint64_t offset = tail_ % kCaptureRingBytes;
    uint64_t to_end = kCaptureRingBytes - offset;
    uint64_t available = head - tail_;
    CaptureRecord rec = {};
    std::memcpy(&rec, ring_ + offset, 8);  // size and type: all a padding record has
    if (rec.size < 8 || rec.size % kCaptureAlign != 0 || rec.size > to_end ||
        rec.size > available) {
      return Broken(absl::StrCat("record of ", rec.size, " bytes at ", tail_));
    }
    if (rec.type == static_cast<uint32_t>(CaptureRecordType::kPadding)) {
      if (rec.size != to_end) return Broken(absl::StrCat("padding short of the end at ", tail_));
      tail_ += rec.size;
      continue;
    }
    if (rec.type != static_cast<uint32_t>(CaptureRecordType::kFrame) ||
        rec.size < sizeof(CaptureRecord)) {
      return Broken(absl::StrCat("record of type ", rec.type, " at ", tail_));
    }
    std::memcpy(&rec, ring_ + offset, sizeof(rec));
    uint32_t captured = rec.captured_length;
    uint64_t want = (sizeof(CaptureRecord) + static_cast<uint64_t>(captured) + kCaptureAlign - 1) &
                    ~uint64_t{kCaptureAlign - 1};
    if (captured > kCaptureMaxSnaplen || captured > rec.wire_length || want != rec.size ||
        rec.direction > static_cast<uint32_t>(Direction::kEgress)) {
      return Broken(absl::StrCat("frame record at ", tail_, " is inconsistent"));
    }
    std::memcpy(buf_.data(), ring_ + offset + sizeof(CaptureRecord), captured);
    CapturedFrame frame;
    frame.port_id = rec.port_id;
    frame.direction = static_cast<Direction>(rec.direction);
    frame.timestamp_ns = rec.timestamp_ns;
    frame.wire_length = rec.wire_length;
    frame.data = absl::MakeConstSpan(buf_.data(), captured);
    tail_ += rec.size;
    ++delivered;
    on_frame(frame);
  }
  slot_->tail.value.store(tail_, std::memory_order_release);
  return delivered;
}

void CaptureRingReader::Wait(absl::Time deadline, const std::atomic<bool>& interrupted) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return;
  // First doze for kDoze with the word at 0: the switch does not wake a dozing reader, so under
  // steady traffic it makes at most one FUTEX_WAKE per kDoze for this slot instead of one per
  // round (frames then reach the reader up to kDoze later). Interrupt wakes a doze too.
  if (!interrupted.load(std::memory_order_seq_cst)) {
    struct timespec doze = absl::ToTimespec(std::min(left, kDoze));
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&slot_->wake), FUTEX_WAIT, 0, &doze, nullptr, 0);
    left = deadline - absl::Now();
    if (left <= absl::ZeroDuration() || HasData()) return;
  }
  // Store the wake word, then look again (both seq_cst; the switch publishes head, then reads the
  // word): either the new head is seen here or the switch sees the word and wakes us.
  slot_->wake.store(1, std::memory_order_seq_cst);
  if (HasData() || interrupted.load(std::memory_order_seq_cst)) return;
  struct timespec ts = absl::ToTimespec(std::min(left, absl::Seconds(3600)));
  // EAGAIN (the word changed already), EINTR, ETIMEDOUT: all mean look again.
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&slot_->wake), FUTEX_WAIT, 1, &ts, nullptr, 0);
  slot_->wake.store(0, std::memory_order_relaxed);  // awake: no wake-up needed (nor a doze cut)
}

void CaptureRingReader::Interrupt(CaptureSlotHeader* slot) {
  slot->wake.store(0, std::memory_order_seq_cst);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&slot->wake), FUTEX_WAKE, INT_MAX, nullptr,
          nullptr, 0);
}

}  // namespace clownix::switchcore::ctl
