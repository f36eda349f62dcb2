#include "switchcore/frame_pool.h"

#include <cstdlib>

namespace clownix::switchcore {

FramePool::FramePool(int count)
    : storage_(new uint8_t[static_cast<size_t>(count) * kFrameCapacity]),
      lengths_(count, 0),
      free_(count),
      free_top_(count) {
  for (int i = 0; i < count; ++i) free_[i] = count - 1 - i;
}

int FramePool::Get() {
  if (free_top_ == 0) return kNone;
  return free_[--free_top_];
}

void FramePool::Put(int index) {
  if (index < 0 || index >= count() || free_top_ >= free_.size()) abort();  // double free: a bug
  free_[free_top_++] = index;
}

}  // namespace clownix::switchcore
