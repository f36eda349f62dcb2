#include "server/token_table.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

constexpr char kGood[] =
    "# who may do what\n"
    "\n"
    "viewer   alice   aaaaaaaaaaaaaaaa1\n"
    "  operator\tbob  bbbbbbbbbbbbbbbb-._~+/=\n"
    "admin carol@lab cccccccccccccccccccccccc\n";

TEST(TokenTable, ParsesRolesNamesAndTokens) {
  absl::StatusOr<TokenTable> table = TokenTable::Parse(kGood, "tokens");
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->entries().size(), 3u);
  EXPECT_EQ(table->entries()[1].role, Role::kOperator);
  EXPECT_EQ(table->entries()[1].name, "bob");
  const TokenTable::Entry* carol = table->Find("cccccccccccccccccccccccc");
  ASSERT_NE(carol, nullptr);
  EXPECT_EQ(carol->name, "carol@lab");
  EXPECT_EQ(carol->role, Role::kAdmin);
  EXPECT_EQ(table->Find("bbbbbbbbbbbbbbbb-._~+/=")->name, "bob");
  EXPECT_EQ(table->Find("cccccccccccccccccccccccd"), nullptr);
  EXPECT_EQ(table->Find("cccccccccccccccccccccc"), nullptr);
  EXPECT_EQ(table->Find(""), nullptr);
}

TEST(TokenTable, ErrorsNameTheFileAndLine) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"viewer alice\n", "t:1: expected ROLE NAME TOKEN, got 2 fields"},
      {"# c\nboss alice aaaaaaaaaaaaaaaa\n", "t:2: unknown role \"boss\""},
      {"viewer al/ice aaaaaaaaaaaaaaaa\n", "t:1: name \"al/ice\""},
      {"viewer alice short\n", "t:1: the token of \"alice\" has 5 characters"},
      {"viewer alice aaaaaaaaaaaaaaa\"a\n", "outside A-Za-z0-9"},
      {"viewer a aaaaaaaaaaaaaaaa\nadmin a bbbbbbbbbbbbbbbb\n", "t:2: name \"a\" is given twice"},
      {"viewer a aaaaaaaaaaaaaaaa\nadmin b aaaaaaaaaaaaaaaa\n", "t:2: the token of \"b\" is also"},
      {"# nothing\n\n", "t: no token"},
      {"viewer a aaaaaaaaaaaaaaaa extra\n", "got 4 fields"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<TokenTable> table = TokenTable::Parse(c.text, "t");
    ASSERT_FALSE(table.ok()) << c.text;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(table.status().message().find(c.message), std::string::npos)
        << table.status().message() << " (wanted: " << c.message << ")";
  }
  // The token itself never appears in a message.
  absl::StatusOr<TokenTable> table = TokenTable::Parse("viewer a secret\"secretsecret\n", "t");
  EXPECT_EQ(table.status().message().find("secret"), std::string::npos);
}

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcabc"));
  EXPECT_FALSE(ConstantTimeEquals("abcabc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals("a", ""));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TEST_TMPDIR");
    path_ = std::string(tmp ? tmp : "/tmp") + "/tokens";
    std::ofstream(path_) << kGood;
  }
  void TearDown() override { unlink(path_.c_str()); }
  std::string path_;
};

TEST_F(TokenFileTest, LoadsAnOwnerOnlyFile) {
  ASSERT_EQ(chmod(path_.c_str(), 0600), 0);
  absl::StatusOr<TokenTable> table = TokenTable::Load(path_);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->entries().size(), 3u);
  ASSERT_EQ(chmod(path_.c_str(), 0400), 0);
  EXPECT_TRUE(TokenTable::Load(path_).ok());
}

TEST_F(TokenFileTest, RefusesAFileOthersCanReadOrWrite) {
  for (mode_t mode : {0640, 0604, 0620, 0602, 0610}) {
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
    absl::StatusOr<TokenTable> table = TokenTable::Load(path_);
    ASSERT_FALSE(table.ok()) << std::oct << mode;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_NE(table.status().message().find("chmod 600 " + path_), std::string::npos)
        << table.status().message();
  }
}

TEST_F(TokenFileTest, RefusesAFileOfAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the file away";
  ASSERT_EQ(chmod(path_.c_str(), 0600), 0);
  if (chown(path_.c_str(), 65534, -1) != 0) {
    GTEST_SKIP() << "cannot give the file away here (a sandbox without uid 65534?)";
  }
  absl::StatusOr<TokenTable> table = TokenTable::Load(path_);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(table.status().message().find("belongs to uid 65534"), std::string::npos)
      << table.status().message();
}

TEST_F(TokenFileTest, MissingFileAndDirectoryAreNamed) {
  absl::StatusOr<TokenTable> missing = TokenTable::Load(path_ + ".none");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(path_ + ".none"), std::string::npos);
  std::string dir = path_ + ".d";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  EXPECT_EQ(TokenTable::Load(dir).status().code(), absl::StatusCode::kPermissionDenied);
  rmdir(dir.c_str());
}

TEST_F(TokenFileTest, ParseErrorsNameThePath) {
  std::ofstream(path_) << "viewer alice\n";
  ASSERT_EQ(chmod(path_.c_str(), 0600), 0);
  absl::StatusOr<TokenTable> table = TokenTable::Load(path_);
  EXPECT_NE(table.status().message().find(path_ + ":1: "), std::string::npos)
      << table.status().message();
}

}  // namespace
}  // namespace clownix::server
