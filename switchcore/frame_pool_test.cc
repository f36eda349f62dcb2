#include "switchcore/frame_pool.h"

#include <set>

#include "gtest/gtest.h"

namespace clownix::switchcore {
namespace {

TEST(FramePoolTest, HandsOutEveryFrameOnceThenRunsDry) {
  FramePool pool(16);
  std::set<int> got;
  for (int i = 0; i < 16; ++i) {
    int f = pool.Get();
    ASSERT_NE(f, FramePool::kNone);
    EXPECT_TRUE(got.insert(f).second);
    pool.data(f)[FramePool::kFrameCapacity - 1] = 1;  // the whole buffer is usable
  }
  EXPECT_EQ(pool.Get(), FramePool::kNone);
  EXPECT_EQ(pool.free_count(), 0);
  pool.Put(5);
  EXPECT_EQ(pool.Get(), 5);
}

TEST(FramePoolDeathTest, OverfullPutIsABug) {
  FramePool pool(2);
  EXPECT_DEATH(pool.Put(0), "");
}

}  // namespace
}  // namespace clownix::switchcore
