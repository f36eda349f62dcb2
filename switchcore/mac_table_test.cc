#include "switchcore/mac_table.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace clownix::switchcore {
namespace {

constexpr int64_t kSecond = 1000000000;

struct Mac {
  uint8_t b[6];
  explicit Mac(uint32_t n)
      : b{0x02, 0, uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)} {}
};

TEST(MacTableTest, LearnsLooksUpAndMoves) {
  MacTable t(64, 4, 64, 300 * kSecond);
  Mac a(1), b(2);
  EXPECT_EQ(t.Lookup(a.b, 0), MacTable::kNoPort);
  EXPECT_EQ(t.Learn(a.b, 1, 0), MacTable::LearnResult::kLearned);
  EXPECT_EQ(t.Learn(a.b, 1, 5), MacTable::LearnResult::kRefreshed);
  EXPECT_EQ(t.Lookup(a.b, 10), 1);
  EXPECT_EQ(t.Lookup(b.b, 10), MacTable::kNoPort);
  EXPECT_EQ(t.Learn(a.b, 2, 20), MacTable::LearnResult::kMoved);
  EXPECT_EQ(t.Lookup(a.b, 20), 2);
  EXPECT_EQ(t.CountForPort(1), 0);
  EXPECT_EQ(t.CountForPort(2), 1);
  EXPECT_EQ(t.size(), 1);
}

TEST(MacTableTest, NeverLearnsMulticastSources) {
  MacTable t(64, 4, 64, 300 * kSecond);
  uint8_t mc[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
  uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(t.Learn(mc, 0, 0), MacTable::LearnResult::kNotUnicast);
  EXPECT_EQ(t.Learn(bc, 0, 0), MacTable::LearnResult::kNotUnicast);
  EXPECT_EQ(t.size(), 0);
}

TEST(MacTableTest, EntriesAgeOut) {
  MacTable t(64, 4, 64, 10 * kSecond);
  Mac a(1);
  t.Learn(a.b, 3, 0);
  EXPECT_EQ(t.Lookup(a.b, 10 * kSecond), 3);
  EXPECT_EQ(t.Lookup(a.b, 10 * kSecond + 1), MacTable::kNoPort);
  // The dead entry's slot is reused.
  EXPECT_EQ(t.Learn(a.b, 2, 11 * kSecond), MacTable::LearnResult::kMoved);
}

TEST(MacTableTest, RemovePortForgetsItsEntries) {
  MacTable t(64, 4, 64, 300 * kSecond);
  for (uint32_t i = 0; i < 10; ++i) t.Learn(Mac(i).b, i % 2, 0);
  t.RemovePort(0);
  EXPECT_EQ(t.size(), 5);
  EXPECT_EQ(t.CountForPort(0), 0);
  for (uint32_t i = 0; i < 10; ++i) {
    EXPECT_EQ(t.Lookup(Mac(i).b, 1), i % 2 ? 1 : MacTable::kNoPort);
  }
}

TEST(MacTableTest, MacFloodIsBoundedAndCannotEvictOthers) {
  MacTable t(1024, 4, 256, 300 * kSecond);
  // Three well-behaved ports with a few MACs each.
  for (uint32_t i = 0; i < 30; ++i) {
    ASSERT_EQ(t.Learn(Mac(0x10000 + i).b, i % 3, 0), MacTable::LearnResult::kLearned);
  }
  // Port 3 sprays a million random source MACs.
  int refused = 0;
  for (uint32_t i = 0; i < 1000000; ++i) {
    if (t.Learn(Mac(0x1000000 + i * 7919).b, 3, 1) == MacTable::LearnResult::kQuotaExceeded) {
      ++refused;
    }
  }
  EXPECT_EQ(t.CountForPort(3), 256);
  EXPECT_GT(refused, 999000);
  EXPECT_LE(t.size(), t.capacity());
  // Everyone else is still known.
  for (uint32_t i = 0; i < 30; ++i) EXPECT_EQ(t.Lookup(Mac(0x10000 + i).b, 2), int(i % 3)) << i;
}

TEST(MacTableTest, FullBucketEvictsTheHeaviestOwner) {
  // One bucket: capacity 8.
  MacTable t(8, 3, 8, 300 * kSecond);
  ASSERT_EQ(t.capacity(), 8);
  t.Learn(Mac(1).b, 0, 0);
  t.Learn(Mac(2).b, 1, 0);
  for (uint32_t i = 0; i < 6; ++i) t.Learn(Mac(100 + i).b, 2, 0);
  EXPECT_EQ(t.size(), 8);
  EXPECT_EQ(t.Learn(Mac(200).b, 2, 1), MacTable::LearnResult::kLearned);
  EXPECT_EQ(t.evictions(), 1u);
  EXPECT_EQ(t.Lookup(Mac(1).b, 2), 0);
  EXPECT_EQ(t.Lookup(Mac(2).b, 2), 1);
  EXPECT_EQ(t.CountForPort(2), 6);
}

}  // namespace
}  // namespace clownix::switchcore
