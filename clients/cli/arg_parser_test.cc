#include "clients/cli/arg_parser.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Flags {
  std::string mem;
  std::vector<std::string> labels;
  bool json = false;
};

ArgParser MakeParser(Flags& flags) {
  ArgParser parser("clownix vm add NAME", "Defines a VM.");
  parser.AddString("mem", "MIB", "memory", &flags.mem);
  parser.AddList("label", "K=V", "a label", &flags.labels);
  parser.AddBool("json", "as JSON", &flags.json);
  return parser;
}

TEST(ArgParserTest, FlagsAndPositionalsInAnyOrder) {
  Flags flags;
  ArgParser parser = MakeParser(flags);
  ASSERT_TRUE(
      parser.Parse({"--mem", "128", "vm1", "--label=a=b", "--json", "--label", "c=d"}).ok());
  EXPECT_EQ(flags.mem, "128");
  EXPECT_THAT(flags.labels, ElementsAre("a=b", "c=d"));
  EXPECT_TRUE(flags.json);
  EXPECT_THAT(parser.positionals(), ElementsAre("vm1"));
  EXPECT_TRUE(parser.IsSet("mem"));
  EXPECT_FALSE(parser.help());
}

TEST(ArgParserTest, AbsentFlagsKeepDefaultsAndAreNotSet) {
  Flags flags;
  flags.mem = "64";
  ArgParser parser = MakeParser(flags);
  ASSERT_TRUE(parser.Parse({"vm1"}).ok());
  EXPECT_EQ(flags.mem, "64");
  EXPECT_FALSE(parser.IsSet("mem"));
  EXPECT_FALSE(flags.json);
}

TEST(ArgParserTest, LastStringWins) {
  Flags flags;
  ArgParser parser = MakeParser(flags);
  ASSERT_TRUE(parser.Parse({"--mem=1", "--mem", "2"}).ok());
  EXPECT_EQ(flags.mem, "2");
}

TEST(ArgParserTest, DoubleDashKeepsTheRestVerbatim) {
  Flags flags;
  ArgParser parser = MakeParser(flags);
  ASSERT_TRUE(parser.Parse({"vm1", "--", "ls", "--mem", "-l", "--"}).ok());
  EXPECT_THAT(parser.positionals(), ElementsAre("vm1"));
  EXPECT_THAT(parser.rest(), ElementsAre("ls", "--mem", "-l", "--"));
  EXPECT_TRUE(parser.saw_double_dash());
  EXPECT_TRUE(flags.mem.empty());
}

TEST(ArgParserTest, UnknownFlagIsNamed) {
  Flags flags;
  ArgParser parser = MakeParser(flags);
  absl::Status status = parser.Parse({"--memory", "1"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--memory"));
}

TEST(ArgParserTest, ShortFlagsAreRejectedButDashAloneIsPositional) {
  Flags flags;
  ArgParser parser = MakeParser(flags);
  EXPECT_EQ(parser.Parse({"-m"}).code(), absl::StatusCode::kInvalidArgument);
  Flags flags2;
  ArgParser parser2 = MakeParser(flags2);
  ASSERT_TRUE(parser2.Parse({"-"}).ok());
  EXPECT_THAT(parser2.positionals(), ElementsAre("-"));
}

TEST(ArgParserTest, MissingValueIsAnError) {
  Flags flags;
  ArgParser parser = MakeParser(flags);
  absl::Status status = parser.Parse({"vm1", "--mem"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--mem needs a value"));
}

TEST(ArgParserTest, SwitchRejectsValuesOtherThanTrueFalse) {
  Flags flags;
  ArgParser parser = MakeParser(flags);
  EXPECT_EQ(parser.Parse({"--json=yes"}).code(), absl::StatusCode::kInvalidArgument);
  Flags flags2;
  flags2.json = true;
  ArgParser parser2 = MakeParser(flags2);
  ASSERT_TRUE(parser2.Parse({"--json=false"}).ok());
  EXPECT_FALSE(flags2.json);
}

TEST(ArgParserTest, HelpWinsOverErrors) {
  Flags flags;
  ArgParser parser = MakeParser(flags);
  parser.Parse({"--help", "--bogus"}).IgnoreError();
  EXPECT_TRUE(parser.help());
  EXPECT_THAT(parser.Help(), HasSubstr("usage: clownix vm add NAME"));
  EXPECT_THAT(parser.Help(), HasSubstr("--label K=V"));
  EXPECT_THAT(parser.Help(), HasSubstr("(repeatable)"));
}

TEST(ArgParserTest, ExpectPositionals) {
  Flags flags;
  ArgParser parser = MakeParser(flags);
  ASSERT_TRUE(parser.Parse({"a", "b"}).ok());
  EXPECT_TRUE(parser.ExpectPositionals(2, 2, "X Y").ok());
  absl::Status few = parser.ExpectPositionals(3, 3, "X Y Z");
  EXPECT_THAT(few.message(), HasSubstr("missing arguments: expected X Y Z"));
  absl::Status many = parser.ExpectPositionals(1, 1, "X");
  EXPECT_THAT(many.message(), HasSubstr("unexpected argument \"b\""));
  EXPECT_THAT(ArgParser("u", "s").positionals(), IsEmpty());
}

}  // namespace
}  // namespace clownix::cli
