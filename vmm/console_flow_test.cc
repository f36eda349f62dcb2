#include "vmm/console_flow.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

constexpr char kStart[] = "\x1b_clownix-console start\x1b\\";
std::string Read(size_t n) { return absl::StrCat("\x1b_clownix-console read ", n, "\x1b\\"); }

TEST(ConsoleFlowFilterTest, OutputWithoutMarksPassesUnchanged) {
  ConsoleFlowFilter filter;
  std::string shown;
  const std::string output = "login: \x1b[1mroot\x1b[0m\r\n\x1b_other apc\x1b\\\x1b]0;title\x07";
  ConsoleFlowFilter::Marks marks = filter.Filter(output, &shown);
  EXPECT_EQ(shown, output);
  EXPECT_FALSE(marks.started);
  EXPECT_EQ(marks.acknowledged, 0u);
}

TEST(ConsoleFlowFilterTest, MarksAreTakenOutAndCounted) {
  ConsoleFlowFilter filter;
  std::string shown;
  ConsoleFlowFilter::Marks marks =
      filter.Filter(absl::StrCat("a", Read(7), "b", kStart, "c", Read(3), Read(40), "d"), &shown);
  EXPECT_EQ(shown, "abcd");
  EXPECT_TRUE(marks.started);
  EXPECT_EQ(marks.acknowledged, 43u);  // Counted from the start mark: the 7 before it do not count.
}

// Every way a mark can be cut by the end of a read: each split point of "x" + mark + "y".
TEST(ConsoleFlowFilterTest, AMarkCutAnywhereIsStillOneMark) {
  const std::string whole = absl::StrCat("x", Read(1234), "y");
  for (size_t cut = 0; cut <= whole.size(); ++cut) {
    ConsoleFlowFilter filter;
    std::string shown;
    ConsoleFlowFilter::Marks first = filter.Filter(whole.substr(0, cut), &shown);
    ConsoleFlowFilter::Marks second = filter.Filter(whole.substr(cut), &shown);
    EXPECT_EQ(shown, "xy") << "cut at " << cut;
    EXPECT_EQ(first.acknowledged + second.acknowledged, 1234u) << "cut at " << cut;
  }
}

TEST(ConsoleFlowFilterTest, WhatOnlyLooksLikeTheStartOfAMarkIsShown) {
  ConsoleFlowFilter filter;
  std::string shown;
  // Held: it could still become a mark.
  filter.Filter("a\x1b_clownix-con", &shown);
  EXPECT_EQ(shown, "a");
  // It does not: shown as it came, with what follows.
  filter.Filter("tinue\x1b\\b", &shown);
  EXPECT_EQ(shown, "a\x1b_clownix-continue\x1b\\b");
  // Not a number, a number too long, a mark that never ends: all shown.
  shown.clear();
  const std::string odd = absl::StrCat("\x1b_clownix-console read x\x1b\\",
                                       "\x1b_clownix-console read 123456789012\x1b\\",
                                       "\x1b_clownix-console read 5", std::string(40, 'z'));
  ConsoleFlowFilter::Marks marks = filter.Filter(odd, &shown);
  EXPECT_EQ(shown, odd);
  EXPECT_EQ(marks.acknowledged, 0u);
}

TEST(ConsoleFlowFilterTest, ALoneEscAtTheEndWaitsForWhatFollows) {
  ConsoleFlowFilter filter;
  std::string shown;
  filter.Filter("ab\x1b", &shown);
  EXPECT_EQ(shown, "ab");
  filter.Filter("[0m", &shown);
  EXPECT_EQ(shown, "ab\x1b[0m");
}

}  // namespace
}  // namespace clownix::vmm
