#include "clients/cli/lab/lab_dep.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(LabDepTest, WavesFollowDependencies) {
  absl::StatusOr<std::vector<std::vector<std::string>>> waves = ParseLabDep(
      "# routers first\nh1: r1 r2\nr2:r1\n\nh2 : r2\n", "lab.dep", {"h1", "h2", "r1", "r2", "x"});
  ASSERT_TRUE(waves.ok()) << waves.status();
  EXPECT_THAT(*waves,
              ElementsAre(ElementsAre("r1", "x"), ElementsAre("r2"), ElementsAre("h1", "h2")));
}

TEST(LabDepTest, NoDependenciesIsOneWave) {
  absl::StatusOr<std::vector<std::vector<std::string>>> waves =
      ParseLabDep("", "lab.dep", {"a", "b"});
  ASSERT_TRUE(waves.ok());
  EXPECT_THAT(*waves, ElementsAre(ElementsAre("a", "b")));
}

TEST(LabDepTest, ACycleIsAnErrorNamingItsLine) {
  absl::Status status = ParseLabDep("a: b\nb: c\nc: a\n", "lab.dep", {"a", "b", "c"}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("lab.dep:1: a dependency cycle: a waits for b waits for c waits for a"));
  EXPECT_THAT(ParseLabDep("a: a\n", "lab.dep", {"a"}).status().message(),
              HasSubstr("lab.dep:1: a dependency cycle"));
}

TEST(LabDepTest, UnknownMachinesAndBadLinesNameTheLine) {
  EXPECT_THAT(ParseLabDep("a: b\nb: zz\n", "lab.dep", {"a", "b"}).status().message(),
              HasSubstr("lab.dep:2: unknown machine \"zz\""));
  EXPECT_THAT(ParseLabDep("a b\n", "lab.dep", {"a", "b"}).status().message(),
              HasSubstr("lab.dep:1: \"a b\" is not MACHINE: MACHINE..."));
  EXPECT_THAT(ParseLabDep("a:\n", "lab.dep", {"a", "b"}).status().message(),
              HasSubstr("lab.dep:1:"));
}

}  // namespace
}  // namespace clownix::cli
