#include "switchcore/delay_queue.h"

#include "gtest/gtest.h"

namespace clownix::switchcore {
namespace {

TEST(DelayQueueTest, PopsInDueOrderFifoOnTies) {
  DelayQueue q(8);
  ASSERT_TRUE(q.Push(30, 1, 0, 0));
  ASSERT_TRUE(q.Push(10, 1, 1, 0));
  ASSERT_TRUE(q.Push(20, 1, 2, 0));
  ASSERT_TRUE(q.Push(10, 1, 3, 0));
  EXPECT_EQ(q.Pop().frame, 1);
  EXPECT_EQ(q.Pop().frame, 3);
  EXPECT_EQ(q.Pop().frame, 2);
  EXPECT_EQ(q.Pop().frame, 0);
  EXPECT_TRUE(q.empty());
}

TEST(DelayQueueTest, BoundedCapacity) {
  DelayQueue q(2);
  EXPECT_TRUE(q.Push(1, 1, 0, 0));
  EXPECT_TRUE(q.Push(1, 1, 1, 0));
  EXPECT_FALSE(q.Push(1, 1, 2, 0));
  EXPECT_EQ(q.size(), 2);
}

TEST(DelayQueueTest, ManyRandomItemsComeOutSorted) {
  DelayQueue q(1000);
  uint64_t x = 12345;
  for (int i = 0; i < 1000; ++i) {
    x = x * 6364136223846793005ull + 1;
    ASSERT_TRUE(q.Push(static_cast<int64_t>(x >> 40), 0, i, 0));
  }
  int64_t last = -1;
  while (!q.empty()) {
    auto item = q.Pop();
    EXPECT_GE(item.due_ns, last);
    last = item.due_ns;
  }
}

}  // namespace
}  // namespace clownix::switchcore
