#include "common/file_io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "gtest/gtest.h"

namespace clownix::common {
namespace {

class FileIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/clownix-file-io-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::string command = "rm -rf " + dir_;
    ASSERT_EQ(system(command.c_str()), 0);
  }
  std::string dir_;
};

TEST_F(FileIoTest, WriteThenReadRoundTrips) {
  std::string path = dir_ + "/a";
  std::string contents("binary\0data\n", 12);
  ASSERT_TRUE(WriteFileDurably(path, contents).ok());
  absl::StatusOr<std::string> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, contents);
  EXPECT_NE(access((path + ".tmp").c_str(), F_OK), 0) << "the temporary file is left";
}

TEST_F(FileIoTest, WriteReplacesAndSetsTheMode) {
  std::string path = dir_ + "/a";
  ASSERT_TRUE(WriteFileDurably(path, "a long first content", 0644).ok());
  ASSERT_TRUE(WriteFileDurably(path, "short", 0600).ok());
  EXPECT_EQ(*ReadFile(path), "short");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FileIoTest, MissingFiles) {
  EXPECT_EQ(ReadFile(dir_ + "/none").status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::string> empty = ReadFileIfExists(dir_ + "/none");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
  absl::Status write = WriteFileDurably(dir_ + "/no/such/dir/file", "x");
  EXPECT_EQ(write.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(write.message().find("/no/such/dir/file.tmp"), std::string::npos) << write;
}

TEST_F(FileIoTest, ReadRefusesTooLargeFiles) {
  std::string path = dir_ + "/big";
  ASSERT_TRUE(WriteFileDurably(path, std::string(100, 'x')).ok());
  EXPECT_EQ(ReadFile(path, 99).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(ReadFile(path, 100).ok());
}

TEST_F(FileIoTest, AFailedWriteLeavesTheOldContent) {
  std::string path = dir_ + "/a";
  ASSERT_TRUE(WriteFileDurably(path, "old").ok());
  // A directory where the temporary file would go makes the write fail before the rename.
  ASSERT_EQ(mkdir((path + ".tmp").c_str(), 0700), 0);
  EXPECT_FALSE(WriteFileDurably(path, "new").ok());
  EXPECT_EQ(*ReadFile(path), "old");
}

}  // namespace
}  // namespace clownix::common
