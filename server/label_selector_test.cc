#include "server/label_selector.h"

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

google::protobuf::Map<std::string, std::string> Labels(
    std::initializer_list<std::pair<const std::string, std::string>> init) {
  google::protobuf::Map<std::string, std::string> labels;
  for (const auto& [k, v] : init) labels[k] = v;
  return labels;
}

TEST(LabelSelector, EmptyMatchesEverything) {
  auto s = LabelSelector::Parse("  ");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->MatchesAll());
  EXPECT_TRUE(s->Matches(Labels({})));
}

TEST(LabelSelector, AllTermsMustHold) {
  auto s = LabelSelector::Parse("role=router, site!=lab,up,!down");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->Matches(Labels({{"role", "router"}, {"up", ""}})));
  EXPECT_TRUE(s->Matches(Labels({{"role", "router"}, {"up", "1"}, {"site", "prod"}})));
  EXPECT_FALSE(s->Matches(Labels({{"role", "router"}, {"up", ""}, {"site", "lab"}})));
  EXPECT_FALSE(s->Matches(Labels({{"role", "host"}, {"up", ""}})));
  EXPECT_FALSE(s->Matches(Labels({{"role", "router"}})));
  EXPECT_FALSE(s->Matches(Labels({{"role", "router"}, {"up", ""}, {"down", ""}})));
}

TEST(LabelSelector, DoubleEqualsIsEquals) {
  auto s = LabelSelector::Parse("a==b");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches(Labels({{"a", "b"}})));
}

// Found by label_selector_fuzzer: label values may hold '=' and "!=", and every valid label must
// be selectable; "a==b!=c" was refused (its "!=" was taken for the operator).
TEST(LabelSelector, TheOperatorIsTheFirstEquals) {
  auto eq = LabelSelector::Parse("a==b!=c");
  ASSERT_TRUE(eq.ok()) << eq.status();
  EXPECT_TRUE(eq->Matches(Labels({{"a", "b!=c"}})));
  EXPECT_FALSE(eq->Matches(Labels({{"a", "b"}})));
  auto ne = LabelSelector::Parse("a!=b=c");
  ASSERT_TRUE(ne.ok()) << ne.status();
  EXPECT_FALSE(ne->Matches(Labels({{"a", "b=c"}})));
  EXPECT_TRUE(ne->Matches(Labels({{"a", "b"}})));
  auto leading = LabelSelector::Parse("a!==x");
  ASSERT_TRUE(leading.ok()) << leading.status();
  EXPECT_FALSE(leading->Matches(Labels({{"a", "=x"}})));
}

TEST(LabelSelector, MalformedTermsAreRejected) {
  for (const char* bad : {"=x", "a,,b", "!", "a b=c"}) {
    EXPECT_EQ(LabelSelector::Parse(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace clownix::server
