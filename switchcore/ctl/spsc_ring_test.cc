#include "switchcore/ctl/spsc_ring.h"

#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace clownix::switchcore::ctl {
namespace {

struct Shm {
  RingIndex head{}, tail{};
  std::vector<uint8_t> slots = std::vector<uint8_t>(8 * kRecordSize);
};

TEST(SpscRingTest, PushPopInOrderUntilFull) {
  Shm shm;
  SpscRing producer(&shm.head, &shm.tail, shm.slots.data(), 8);
  SpscRing consumer(&shm.head, &shm.tail, shm.slots.data(), 8);
  Request req = {};
  for (uint32_t i = 0; i < 8; ++i) {
    req.type = i;
    ASSERT_TRUE(*producer.Push(&req));
  }
  EXPECT_FALSE(*producer.Push(&req));  // full
  Request out;
  for (uint32_t i = 0; i < 8; ++i) {
    ASSERT_TRUE(*consumer.Pop(&out));
    EXPECT_EQ(out.type, i);
    EXPECT_EQ(out.seq, i + 1);
  }
  EXPECT_FALSE(*consumer.Pop(&out));
  EXPECT_TRUE(*producer.Push(&req));
}

TEST(SpscRingTest, ImpossibleProducerIndexIsDataLoss) {
  Shm shm;
  SpscRing consumer(&shm.head, &shm.tail, shm.slots.data(), 8);
  Request out;
  shm.head.value = 100;  // more than a ring ahead
  EXPECT_EQ(consumer.Pop(&out).status().code(), absl::StatusCode::kDataLoss);
  consumer.Resync();
  EXPECT_FALSE(*consumer.Pop(&out));
  EXPECT_EQ(shm.tail.value.load(), 100u);
}

TEST(SpscRingTest, WrongSequenceIsDataLoss) {
  Shm shm;
  SpscRing producer(&shm.head, &shm.tail, shm.slots.data(), 8);
  SpscRing consumer(&shm.head, &shm.tail, shm.slots.data(), 8);
  Request req = {};
  ASSERT_TRUE(*producer.Push(&req));
  shm.slots[0] = 7;  // scribbled sequence number
  Request out;
  EXPECT_EQ(consumer.Pop(&out).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SpscRingTest, ImpossibleConsumerIndexIsDataLoss) {
  Shm shm;
  SpscRing producer(&shm.head, &shm.tail, shm.slots.data(), 8);
  Request req = {};
  shm.tail.value = 5;  // ahead of the producer
  EXPECT_EQ(producer.Push(&req).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SpscRingTest, TwoThreadsMoveAMillionRecords) {
  Shm shm;
  SpscRing producer(&shm.head, &shm.tail, shm.slots.data(), 8);
  SpscRing consumer(&shm.head, &shm.tail, shm.slots.data(), 8);
  constexpr uint64_t kN = 200000;
  std::thread t([&] {
    Request req = {};
    for (uint64_t i = 0; i < kN;) {
      req.port_id = i;
      if (*producer.Push(&req)) ++i;
    }
  });
  Request out;
  for (uint64_t i = 0; i < kN;) {
    auto got = consumer.Pop(&out);
    ASSERT_TRUE(got.ok());
    if (*got) {
      ASSERT_EQ(out.port_id, i);
      ++i;
    }
  }
  t.join();
}

}  // namespace
}  // namespace clownix::switchcore::ctl
