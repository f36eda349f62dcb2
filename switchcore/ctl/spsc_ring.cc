#include "switchcore/ctl/spsc_ring.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace clownix::switchcore::ctl {

SpscRing::SpscRing(RingIndex* head, RingIndex* tail, uint8_t* slots, uint32_t count)
    : head_(head), tail_(tail), slots_(slots), count_(count) {}

absl::StatusOr<bool> SpscRing::Push(const void* record) {
  uint64_t tail = tail_->value.load(std::memory_order_acquire);
  if (tail > mine_ || mine_ - tail > count_) {
    return absl::DataLossError(
        absl::StrCat("ring consumer index ", tail, " is impossible (producer at ", mine_, ")"));
  }
  if (mine_ - tail == count_) return false;
  uint8_t* slot = slots_ + (mine_ & (count_ - 1)) * kRecordSize;
  std::memcpy(slot, record, kRecordSize);
  uint64_t seq = mine_ + 1;
  std::memcpy(slot, &seq, sizeof(seq));
  ++mine_;
  head_->value.store(mine_, std::memory_order_release);
  return true;
}

absl::StatusOr<bool> SpscRing::Pop(void* out) {
  uint64_t head = head_->value.load(std::memory_order_acquire);
  if (head == mine_) return false;
  if (head < mine_ || head - mine_ > count_) {
    return absl::DataLossError(
        absl::StrCat("ring producer index ", head, " is impossible (consumer at ", mine_, ")"));
  }
  const uint8_t* slot = slots_ + (mine_ & (count_ - 1)) * kRecordSize;
  std::memcpy(out, slot, kRecordSize);  // validate the private copy, never the shared bytes
  uint64_t seq;
  std::memcpy(&seq, out, sizeof(seq));
  if (seq != mine_ + 1) {
    return absl::DataLossError(
        absl::StrCat("ring record sequence ", seq, " where ", mine_ + 1, " was expected"));
  }
  ++mine_;
  tail_->value.store(mine_, std::memory_order_release);
  return true;
}

void SpscRing::Resync() {
  uint64_t head = head_->value.load(std::memory_order_acquire);
  mine_ = head;
  tail_->value.store(mine_, std::memory_order_release);
}

}  // namespace clownix::switchcore::ctl
