// FramePool: a fixed set of frame buffers allocated once at start-up, handed out by index from a
// free list (a stack of indexes; the most recently freed frame is reused first, so a small working
// set stays in cache and in a few resident pages). Used for frames that must outlive one receive
// batch: frames held by impairments and frames waiting for a full receiver. Not thread-safe.
#ifndef CLOWNIX_SWITCHCORE_FRAME_POOL_H_
#define CLOWNIX_SWITCHCORE_FRAME_POOL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace clownix::switchcore {

class FramePool {
 public:
  static constexpr int kNone = -1;
  static constexpr int kFrameCapacity = 2048;

  explicit FramePool(int count);

  // A free frame's index, or kNone if all are in use.
  int Get();
  // Returns frame `index` (from Get) to the pool.
  void Put(int index);

  uint8_t* data(int index) { return &storage_[static_cast<size_t>(index) * kFrameCapacity]; }
  uint16_t& length(int index) { return lengths_[index]; }
  int free_count() const { return static_cast<int>(free_top_); }
  int count() const { return static_cast<int>(lengths_.size()); }

 private:
  // Not value-initialised: pages are touched (and count in RSS) only when frames are used.
  std::unique_ptr<uint8_t[]> storage_;
  std::vector<uint16_t> lengths_;
  std::vector<int32_t> free_;
  size_t free_top_;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_FRAME_POOL_H_
