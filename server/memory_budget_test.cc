#include "server/memory_budget.h"

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

TEST(MemoryBudgetTest, DefaultKeepsAnEighthOrAtLeastOneGib) {
  // 24 GiB: an eighth (3 GiB) is kept.
  EXPECT_EQ(*MemoryBudget::DefaultBudgetMib("MemTotal:       25165824 kB\nMemFree: 1 kB\n"),
            24576 - 3072);
  // 4 GiB: an eighth is 512 MiB, less than the 1 GiB floor.
  EXPECT_EQ(*MemoryBudget::DefaultBudgetMib("MemFree: 1 kB\nMemTotal: 4194304 kB\n"), 4096 - 1024);
  // Smaller than the floor: nothing for VMs, never negative.
  EXPECT_EQ(*MemoryBudget::DefaultBudgetMib("MemTotal: 524288 kB\n"), 0);
  EXPECT_EQ(MemoryBudget::DefaultBudgetMib("MemFree: 1 kB\n").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MemoryBudgetTest, HostDefaultReadsMeminfo) {
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/meminfo";
  { std::ofstream(path) << "MemTotal: 16777216 kB\n"; }
  EXPECT_EQ(*MemoryBudget::HostDefaultBudgetMib(path), 16384 - 2048);
  EXPECT_EQ(MemoryBudget::HostDefaultBudgetMib(path + ".missing").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(MemoryBudget::HostDefaultBudgetMib().ok());  // this host's
}

TEST(MemoryBudgetTest, ChargesFitOrNot) {
  MemoryBudget budget(600);
  const int64_t cost = MemoryBudget::CostMib(128);
  EXPECT_EQ(cost, 128 + MemoryBudget::kUmlOverheadMib);
  EXPECT_TRUE(budget.TryCharge("a", 128));
  EXPECT_TRUE(budget.TryCharge("b", 128));
  EXPECT_FALSE(budget.TryCharge("a", 128)) << "charged twice";
  EXPECT_EQ(budget.usage().used_mib, 2 * cost);
  EXPECT_EQ(budget.usage().free_mib, 600 - 2 * cost);
  EXPECT_EQ(budget.usage().vms, 2);
  EXPECT_TRUE(budget.TryCharge("c", 128));
  EXPECT_TRUE(budget.TryCharge("d", 128));
  EXPECT_FALSE(budget.TryCharge("e", 128)) << "5 x 144 > 600";
  EXPECT_EQ(budget.ChargeOf("e"), 0);
  budget.Release("a");
  budget.Release("a");  // no-op
  EXPECT_EQ(budget.ChargeOf("a"), 0);
  EXPECT_TRUE(budget.TryCharge("e", 128));
  EXPECT_EQ(budget.ChargeOf("e"), cost);
}

TEST(MemoryBudgetTest, FoundRunningIsChargedWhateverIsFree) {
  MemoryBudget budget(100);
  budget.Charge("big", 200);
  EXPECT_EQ(budget.usage().used_mib, MemoryBudget::CostMib(200));
  EXPECT_EQ(budget.usage().free_mib, 0);
  budget.Charge("big", 64);  // replaces
  EXPECT_EQ(budget.usage().used_mib, MemoryBudget::CostMib(64));
}

TEST(MemoryBudgetTest, TooLargeForTheWholeBudgetIsResourceExhausted) {
  MemoryBudget budget(600);
  EXPECT_TRUE(budget.CheckCanEverFit("r1", 600 - MemoryBudget::kUmlOverheadMib).ok());
  absl::Status s = budget.CheckCanEverFit("r1", 600);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("vm \"r1\""), std::string::npos) << s;
  EXPECT_NE(s.message().find("600 MiB"), std::string::npos) << s;
}

}  // namespace
}  // namespace clownix::server
