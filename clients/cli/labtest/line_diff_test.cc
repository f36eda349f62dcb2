#include "clients/cli/labtest/line_diff.h"

#include "gtest/gtest.h"

namespace clownix::cli::labtest {
namespace {

TEST(UnifiedDiffTest, EqualTextsGiveNothing) {
  EXPECT_EQ(UnifiedDiff("a\nb\n", "a\nb\n", "x", "y"), "");
  EXPECT_EQ(UnifiedDiff("a\nb", "a\nb\n", "x", "y"), "");
  EXPECT_EQ(UnifiedDiff("", "", "x", "y"), "");
}

TEST(UnifiedDiffTest, AChangedLineWithItsContextAsDiffUWritesIt) {
  EXPECT_EQ(
      UnifiedDiff("1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\nfive\n6\n7\n8\n", "recorded", "running"),
      "--- recorded\n+++ running\n"
      "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
}

TEST(UnifiedDiffTest, FarApartChangesMakeTwoHunksAndNearOnesOne) {
  EXPECT_EQ(UnifiedDiff("a\n1\n2\n3\n4\n5\n6\n7\nb\n", "A\n1\n2\n3\n4\n5\n6\n7\nB\n", "x", "y", 1),
            "--- x\n+++ y\n@@ -1,2 +1,2 @@\n-a\n+A\n 1\n@@ -8,2 +8,2 @@\n 7\n-b\n+B\n");
  EXPECT_EQ(UnifiedDiff("a\n1\n2\nb\n", "A\n1\n2\nB\n", "x", "y", 1),
            "--- x\n+++ y\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n-b\n+B\n");
}

TEST(UnifiedDiffTest, LinesOnlyOnOneSide) {
  EXPECT_EQ(UnifiedDiff("", "new\n", "x", "y"), "--- x\n+++ y\n@@ -0,0 +1 @@\n+new\n");
  EXPECT_EQ(UnifiedDiff("a\nold\n", "a\n", "x", "y", 0), "--- x\n+++ y\n@@ -2 +1,0 @@\n-old\n");
}

}  // namespace
}  // namespace clownix::cli::labtest
