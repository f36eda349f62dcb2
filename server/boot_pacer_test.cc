#include "server/boot_pacer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

using Kind = BootPacer::Decision::Kind;

// What Plan said, as "vm:start", "vm:queued", "vm:memory".
std::vector<std::string> Summary(const std::vector<BootPacer::Decision>& decisions) {
  std::vector<std::string> out;
  for (const BootPacer::Decision& d : decisions) {
    out.push_back(d.vm + (d.kind == Kind::kStart    ? ":start"
                          : d.kind == Kind::kQueued ? ":queued"
                                                    : ":memory"));
  }
  return out;
}

// A clock the test moves by hand.
struct FakeClock {
  absl::Time now = absl::UnixEpoch();
  std::function<absl::Time()> Fn() {
    return [this] { return now; };
  }
};

constexpr int kMem = 64;
const int64_t kCost = MemoryBudget::CostMib(kMem);

TEST(BootPacerTest, NoLimitStartsEveryoneThatFits) {
  MemoryBudget budget(1 << 20);
  BootPacer pacer(&budget, {});
  for (const char* vm : {"a", "b", "c"}) pacer.Want(vm, kMem);
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"a:start", "b:start", "c:start"}));
  EXPECT_EQ(budget.usage().used_mib, 3 * kCost);
  EXPECT_TRUE(pacer.Plan().empty());
}

TEST(BootPacerTest, AtMostKBootInArrivalOrder) {
  MemoryBudget budget(1 << 20);
  FakeClock clock;
  BootPacer pacer(&budget, {2, absl::Seconds(60), clock.Fn()});
  for (const char* vm : {"d", "a", "c", "b"}) pacer.Want(vm, kMem);
  std::vector<BootPacer::Decision> plan = pacer.Plan();
  EXPECT_EQ(Summary(plan),
            (std::vector<std::string>{"d:start", "a:start", "c:queued", "b:queued"}));
  EXPECT_EQ(
      plan[2].reason,
      "queued to boot: at most 2 booting at once (a boot lasts until the startup has finished)");
  EXPECT_EQ(budget.usage().used_mib, 4 * kCost) << "queued VMs are charged";
  EXPECT_EQ(pacer.GetStats().booting, 2);
  EXPECT_EQ(pacer.GetStats().queued, 2);
  pacer.Want("a", kMem);  // booting: no-op
  pacer.Want("c", kMem);  // queued: no-op
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"c:queued", "b:queued"}));
  pacer.BootEnded("a", true);
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"c:start", "b:queued"}));
  pacer.BootEnded("d", true);
  pacer.BootEnded("d", true);  // no-op
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"b:start"}));
  EXPECT_EQ(pacer.GetStats().queued, 0);
}

TEST(BootPacerTest, WhatDoesNotFitWaitsAndEveryoneBehindIt) {
  MemoryBudget budget(3 * kCost + 10);
  BootPacer pacer(&budget, {});
  pacer.Want("a", kMem);
  pacer.Want("b", kMem);
  pacer.Want("big", 2 * kMem);
  pacer.Want("small", kMem);  // would fit, but "big" asked first
  std::vector<BootPacer::Decision> plan = pacer.Plan();
  EXPECT_EQ(Summary(plan),
            (std::vector<std::string>{"a:start", "b:start", "big:memory", "small:memory"}));
  EXPECT_EQ(plan[2].reason, absl::StrCat("waiting for memory: ", MemoryBudget::CostMib(2 * kMem),
                                         " MiB needed, ", kCost + 10, " MiB free"));
  EXPECT_EQ(plan[3].reason, absl::StrCat("waiting for memory: ", kCost, " MiB needed, ", kCost + 10,
                                         " MiB free; queued behind vm \"big\""));
  EXPECT_EQ(pacer.GetStats().waiting_for_memory, (std::vector<std::string>{"big", "small"}));
  EXPECT_EQ(budget.usage().used_mib, 2 * kCost) << "waiting VMs are not charged";
  // "a" ends: its owner gives its memory back; "big" fits now, "small" still not.
  pacer.BootEnded("a", true);
  budget.Release("a");
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"big:start", "small:memory"}));
  EXPECT_EQ(pacer.GetStats().waiting_for_memory, (std::vector<std::string>{"small"}));
  budget.Release("b");
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"small:start"}));
  EXPECT_TRUE(pacer.GetStats().waiting_for_memory.empty());
}

TEST(BootPacerTest, ForgetLeavesTheQueueAndGivesTheChargeBack) {
  MemoryBudget budget(1 << 20);
  BootPacer pacer(&budget, {1, absl::Seconds(60), [] { return absl::UnixEpoch(); }});
  pacer.Want("a", kMem);
  pacer.Want("b", kMem);
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"a:start", "b:queued"}));
  EXPECT_TRUE(pacer.Queued("b"));
  EXPECT_FALSE(pacer.Queued("a"));
  pacer.Forget("b");
  EXPECT_FALSE(pacer.Queued("b"));
  EXPECT_EQ(budget.ChargeOf("b"), 0);
  pacer.Forget("a");  // booting, not queued: keeps its charge
  EXPECT_EQ(budget.ChargeOf("a"), kCost);
  EXPECT_TRUE(pacer.Plan().empty());
}

TEST(BootPacerTest, AFailedStartGivesSlotAndChargeBack) {
  MemoryBudget budget(1 << 20);
  BootPacer pacer(&budget, {1, absl::Seconds(60), [] { return absl::UnixEpoch(); }});
  pacer.Want("a", kMem);
  pacer.Want("b", kMem);
  pacer.Plan();
  pacer.StartFailed("a");
  EXPECT_EQ(budget.ChargeOf("a"), 0);
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"b:start"}));
}

TEST(BootPacerTest, ASlotHeldTooLongIsFreed) {
  MemoryBudget budget(1 << 20);
  FakeClock clock;
  BootPacer pacer(&budget, {1, absl::Seconds(60), clock.Fn()});
  pacer.Want("stuck", kMem);
  pacer.Want("next", kMem);
  pacer.Plan();
  EXPECT_EQ(pacer.NextSlotTimeout(), clock.now + absl::Seconds(60));
  clock.now += absl::Seconds(59);
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"next:queued"}));
  clock.now += absl::Seconds(1);
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"next:start"}));
  EXPECT_EQ(pacer.NextSlotTimeout(), std::nullopt) << "nobody is queued";
  EXPECT_EQ(pacer.TakeTimedOut(), (std::vector<std::string>{"stuck"}));
  EXPECT_TRUE(pacer.TakeTimedOut().empty());
}

TEST(BootPacerTest, OnASlowHostTheSlotTimeoutFollowsTheLastBoots) {
  MemoryBudget budget(1 << 20);
  FakeClock clock;
  BootPacer pacer(&budget, {1, absl::Seconds(60), clock.Fn(), /*slow_boot_factor=*/3});
  // Three boots that take 100 s each (start to startup finished): the median is 100 s.
  for (const char* vm : {"a", "b", "c"}) {
    pacer.Want(vm, kMem);
    EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{std::string(vm) + ":start"}));
    clock.now += absl::Seconds(100);
    pacer.BootEnded(vm, /*completed=*/true);
  }
  EXPECT_EQ(pacer.SlotTimeout(), absl::Seconds(300));
  // A boot that ends early (the VM crashed) says nothing about the host.
  pacer.Want("crashes", kMem);
  pacer.Plan();
  pacer.BootEnded("crashes", /*completed=*/false);
  EXPECT_EQ(pacer.SlotTimeout(), absl::Seconds(300));

  pacer.Want("slow", kMem);
  pacer.Want("next", kMem);
  pacer.Plan();
  clock.now += absl::Seconds(299);
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"next:queued"}))
      << "slow for this host's boots is not stuck";
  clock.now += absl::Seconds(1);
  EXPECT_EQ(Summary(pacer.Plan()), (std::vector<std::string>{"next:start"}));

  // Fast boots bring it back down, never below slot_timeout.
  for (int i = 0; i < static_cast<int>(BootPacer::kRecentBoots); ++i) {
    const std::string vm = "fast" + std::to_string(i);
    pacer.BootEnded("next", true);
    pacer.Want(vm, kMem);
    pacer.Plan();
    clock.now += absl::Seconds(2);
    pacer.BootEnded(vm, true);
  }
  EXPECT_EQ(pacer.SlotTimeout(), absl::Seconds(60));
}

TEST(BootPacerTest, BootsAGuestMakesSlowDoNotStretchTheTimeoutBeyondItsLimit) {
  MemoryBudget budget(1 << 20);
  FakeClock clock;
  BootPacer pacer(&budget, {1, absl::Seconds(60), clock.Fn(), /*slow_boot_factor=*/3,
                            /*max_slot_timeout=*/absl::Minutes(15)});
  // Guests that report their startup finished only after 20 minutes each.
  for (const char* vm : {"a", "b", "c"}) {
    pacer.Want(vm, kMem);
    pacer.Plan();
    clock.now += absl::Minutes(20);
    pacer.BootEnded(vm, /*completed=*/true);
  }
  EXPECT_EQ(pacer.SlotTimeout(), absl::Minutes(15));
}

}  // namespace
}  // namespace clownix::server
