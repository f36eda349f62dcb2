#include "switchcore/delay_queue.h"

#include <utility>

namespace clownix::switchcore {

DelayQueue::DelayQueue(int capacity) : capacity_(capacity) { heap_.reserve(capacity); }

bool DelayQueue::Push(int64_t due_ns, uint64_t port_id, int32_t frame, uint32_t direction) {
  if (heap_.size() >= capacity_) return false;
  heap_.push_back(Item{due_ns, next_seq_++, port_id, frame, direction});
  size_t i = heap_.size() - 1;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!Less(heap_[i], heap_[parent])) break;
    std::swap(heap_[i], heap_[parent]);
    i = parent;
  }
  return true;
}

DelayQueue::Item DelayQueue::Pop() {
  Item out = heap_.front();
  heap_.front() = heap_.back();
  heap_.pop_back();
  size_t i = 0, n = heap_.size();
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && Less(heap_[l], heap_[m])) m = l;
    if (r < n && Less(heap_[r], heap_[m])) m = r;
    if (m == i) break;
    std::swap(heap_[i], heap_[m]);
    i = m;
  }
  return out;
}

}  // namespace clownix::switchcore
