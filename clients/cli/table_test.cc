#include "clients/cli/table.h"

#include <sstream>

#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

TEST(TableTest, AlignsColumnsWithoutTrailingBlanks) {
  Table table({"NAME", "STATE", "LABELS"});
  table.AddRow({"vm1", "running", "role=router"});
  table.AddRow({"a-long-name", "defined", ""});
  std::ostringstream out;
  table.Print(out);
  EXPECT_EQ(out.str(),
            "NAME         STATE    LABELS\n"
            "vm1          running  role=router\n"
            "a-long-name  defined\n");
  EXPECT_EQ(table.rows(), 2u);
}

TEST(TableTest, MissingCellsAreBlank) {
  Table table({"A", "B"});
  table.AddRow({"x"});
  std::ostringstream out;
  table.Print(out);
  EXPECT_EQ(out.str(), "A  B\nx\n");
}

TEST(TableTest, CountsUtf8CharactersNotBytes) {
  Table table({"N", "X"});
  table.AddRow({"\xc3\xa9t\xc3\xa9", "1"});  // "été": 3 characters, 5 bytes.
  table.AddRow({"abcd", "2"});
  std::ostringstream out;
  table.Print(out);
  EXPECT_EQ(out.str(), "N     X\n\xc3\xa9t\xc3\xa9   1\nabcd  2\n");
}

}  // namespace
}  // namespace clownix::cli
