// DelayQueue: frames held by impairments, ordered by the time they are due. A binary min-heap over
// a vector reserved once (capacity = the frame pool's size), keyed by (due time, insertion
// sequence) so frames due at the same instant leave in arrival order. Not thread-safe.
#ifndef CLOWNIX_SWITCHCORE_DELAY_QUEUE_H_
#define CLOWNIX_SWITCHCORE_DELAY_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace clownix::switchcore {

class DelayQueue {
 public:
  struct Item {
    int64_t due_ns;
    uint64_t seq;
    uint64_t port_id;
    int32_t frame;       // FramePool index
    uint32_t direction;  // ctl::Direction
  };

  explicit DelayQueue(int capacity);

  // False when full (never allocates).
  bool Push(int64_t due_ns, uint64_t port_id, int32_t frame, uint32_t direction);
  bool empty() const { return heap_.empty(); }
  int size() const { return static_cast<int>(heap_.size()); }
  const Item& top() const { return heap_.front(); }
  Item Pop();

 private:
  static bool Less(const Item& a, const Item& b) {
    return a.due_ns < b.due_ns || (a.due_ns == b.due_ns && a.seq < b.seq);
  }
  std::vector<Item> heap_;
  size_t capacity_;
  uint64_t next_seq_ = 0;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_DELAY_QUEUE_H_
