#include "switchcore/impairment.h"

#include "gtest/gtest.h"

namespace clownix::switchcore {
namespace {

constexpr int64_t kMs = 1000000;

TEST(ImpairmentTest, InactiveByDefault) {
  Impairment imp;
  EXPECT_FALSE(imp.active());
  imp.Set(ctl::Impairment{});
  EXPECT_FALSE(imp.active());
}

TEST(ImpairmentTest, ValidateRejectsNonsense) {
  ctl::Impairment p = {};
  p.loss_ppm = 1000001;
  EXPECT_EQ(Impairment::Validate(p).code(), absl::StatusCode::kInvalidArgument);
  p = {};
  p.delay_us = 61 * 1000 * 1000;
  EXPECT_FALSE(Impairment::Validate(p).ok());
  p = {};
  p.delay_us = 1000;
  EXPECT_TRUE(Impairment::Validate(p).ok());
}

TEST(ImpairmentTest, FixedDelay) {
  Impairment imp;
  ctl::Impairment p = {};
  p.delay_us = 5000;
  imp.Set(p);
  FastRandom rng(1);
  auto plan = imp.Decide(100 * kMs, 64, rng);
  ASSERT_EQ(plan.copies, 1);
  EXPECT_EQ(plan.due_ns[0], 105 * kMs);
  EXPECT_EQ(imp.pending(), 1);
  imp.Release();
  EXPECT_EQ(imp.pending(), 0);
}

TEST(ImpairmentTest, JitterStaysInRangeAndVaries) {
  Impairment imp;
  ctl::Impairment p = {};
  p.delay_us = 10000;
  p.jitter_us = 2000;
  imp.Set(p);
  FastRandom rng(7);
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 10000; ++i) {
    auto plan = imp.Decide(0, 64, rng);
    imp.Release();
    lo = std::min(lo, plan.due_ns[0]);
    hi = std::max(hi, plan.due_ns[0]);
  }
  EXPECT_GE(lo, 8 * kMs);
  EXPECT_LE(hi, 12 * kMs);
  EXPECT_LT(lo, 8200000);
  EXPECT_GT(hi, 11800000);
}

TEST(ImpairmentTest, LossDuplicationCorruptionRates) {
  Impairment imp;
  ctl::Impairment p = {};
  p.loss_ppm = 100000;       // 10%
  p.duplicate_ppm = 200000;  // 20%
  p.corrupt_ppm = 50000;     // 5%
  imp.Set(p);
  FastRandom rng(3);
  int lost = 0, dup = 0, corrupt = 0, n = 100000;
  for (int i = 0; i < n; ++i) {
    auto plan = imp.Decide(0, 64, rng);
    if (plan.copies == 0) {
      EXPECT_EQ(plan.drop_cause, ctl::kDropImpairLoss);
      ++lost;
    }
    if (plan.copies == 2) ++dup;
    for (int c = 0; c < plan.copies; ++c) {
      corrupt += plan.corrupt[c];
      imp.Release();
    }
  }
  EXPECT_NEAR(lost, 10000, 600);
  EXPECT_NEAR(dup, 0.2 * (n - lost), 700);
  EXPECT_NEAR(corrupt, 0.05 * (n - lost + dup), 500);
}

TEST(ImpairmentTest, RateLimitSpacesFrames) {
  Impairment imp;
  ctl::Impairment p = {};
  p.rate_bps = 8000000;  // 1 byte per microsecond
  imp.Set(p);
  FastRandom rng(1);
  auto a = imp.Decide(0, 1000, rng);
  auto b = imp.Decide(0, 1000, rng);
  auto c = imp.Decide(5 * kMs, 500, rng);
  EXPECT_EQ(a.due_ns[0], 1 * kMs);
  EXPECT_EQ(b.due_ns[0], 2 * kMs);
  EXPECT_EQ(c.due_ns[0], 5 * kMs + 500000);  // link idle again
}

TEST(ImpairmentTest, QueueLimitTailDrops) {
  Impairment imp;
  ctl::Impairment p = {};
  p.delay_us = 1000;
  p.queue_limit = 3;
  imp.Set(p);
  FastRandom rng(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(imp.Decide(0, 64, rng).copies, 1);
  auto dropped = imp.Decide(0, 64, rng);
  EXPECT_EQ(dropped.copies, 0);
  EXPECT_EQ(dropped.drop_cause, ctl::kDropImpairQueue);
  imp.Release();
  EXPECT_EQ(imp.Decide(0, 64, rng).copies, 1);
}

TEST(ImpairmentTest, ReorderSendsSomeAtOnce) {
  Impairment imp;
  ctl::Impairment p = {};
  p.delay_us = 10000;
  p.reorder_ppm = 250000;
  imp.Set(p);
  FastRandom rng(9);
  int immediate = 0;
  for (int i = 0; i < 10000; ++i) {
    auto plan = imp.Decide(0, 64, rng);
    imp.Release();
    immediate += plan.due_ns[0] == 0;
  }
  EXPECT_NEAR(immediate, 2500, 200);
}

}  // namespace
}  // namespace clownix::switchcore
