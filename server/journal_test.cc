#include "server/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

class JournalTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") + "/journal-" +
            testing::UnitTest::GetInstance()->current_test_info()->name();
    unlink(path_.c_str());
  }

  absl::StatusOr<std::unique_ptr<Journal>> Open(std::vector<std::string>* records,
                                                Journal::ReplayResult* result) {
    return Journal::Create(
        path_,
        [records](absl::string_view r) {
          records->emplace_back(r);
          return absl::OkStatus();
        },
        result);
  }

  std::string Contents() {
    std::string data;
    int fd = open(path_.c_str(), O_RDONLY);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) data.append(buf, n);
    close(fd);
    return data;
  }

  void Overwrite(const std::string& data) {
    int fd = open(path_.c_str(), O_WRONLY | O_TRUNC);
    ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    close(fd);
  }

  std::string path_;
};

TEST_F(JournalTest, RecordsSurviveReopenInOrder) {
  std::vector<std::string> records;
  Journal::ReplayResult result;
  {
    auto journal = Open(&records, &result);
    ASSERT_TRUE(journal.ok()) << journal.status();
    (*journal)->Append("one");
    (*journal)->Append(std::string(100000, 'x'));
    ASSERT_TRUE((*journal)->Sync().ok());
    (*journal)->Append("three");
    ASSERT_TRUE((*journal)->Sync().ok());
  }
  auto journal = Open(&records, &result);
  ASSERT_TRUE(journal.ok());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0], "one");
  EXPECT_EQ(records[1].size(), 100000u);
  EXPECT_EQ(records[2], "three");
  EXPECT_EQ(result.torn_bytes, 0u);
}

TEST_F(JournalTest, UnsyncedRecordsAreNotWritten) {
  std::vector<std::string> records;
  Journal::ReplayResult result;
  {
    auto journal = Open(&records, &result);
    (*journal)->Append("kept");
    ASSERT_TRUE((*journal)->Sync().ok());
    (*journal)->Append("lost");
  }
  auto journal = Open(&records, &result);
  ASSERT_EQ(records.size(), 1u);
}

TEST_F(JournalTest, TornLastRecordIsCutOffAndAppendsContinue) {
  std::vector<std::string> records;
  Journal::ReplayResult result;
  {
    auto journal = Open(&records, &result);
    (*journal)->Append("first");
    (*journal)->Append("second-record");
    ASSERT_TRUE((*journal)->Sync().ok());
  }
  std::string data = Contents();
  // Every way a crash can cut the last record: inside its header, inside its payload.
  for (size_t cut = 1; cut < 8 + 13; ++cut) {
    SCOPED_TRACE(cut);
    Overwrite(data.substr(0, data.size() - cut));
    records.clear();
    auto journal = Open(&records, &result);
    ASSERT_TRUE(journal.ok()) << journal.status();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(result.torn_bytes, 8 + 13 - cut);
  }
  {
    records.clear();
    auto journal = Open(&records, &result);
    (*journal)->Append("third");
    ASSERT_TRUE((*journal)->Sync().ok());
  }
  records.clear();
  auto journal = Open(&records, &result);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1], "third");
}

TEST_F(JournalTest, GarbledLastRecordIsTornButGarbledMiddleIsDataLoss) {
  std::vector<std::string> records;
  Journal::ReplayResult result;
  {
    auto journal = Open(&records, &result);
    (*journal)->Append("first");
    (*journal)->Append("second");
    ASSERT_TRUE((*journal)->Sync().ok());
  }
  std::string data = Contents();
  std::string bad_tail = data;
  bad_tail.back() ^= 1;
  Overwrite(bad_tail);
  records.clear();
  ASSERT_TRUE(Open(&records, &result).ok());
  EXPECT_EQ(records.size(), 1u);
  EXPECT_GT(result.torn_bytes, 0u);

  std::string bad_middle = data;
  bad_middle[9] ^= 1;  // inside "first"'s payload
  Overwrite(bad_middle);
  records.clear();
  auto journal = Open(&records, &result);
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  // Nothing was cut: the file is left for a human to look at.
  EXPECT_EQ(Contents(), bad_middle);
}

TEST_F(JournalTest, ZeroFilledTailIsTorn) {
  std::vector<std::string> records;
  Journal::ReplayResult result;
  {
    auto journal = Open(&records, &result);
    (*journal)->Append("first");
    ASSERT_TRUE((*journal)->Sync().ok());
  }
  Overwrite(Contents() + std::string(4096, '\0'));
  records.clear();
  ASSERT_TRUE(Open(&records, &result).ok());
  EXPECT_EQ(records.size(), 1u);
  EXPECT_EQ(result.torn_bytes, 4096u);
}

TEST_F(JournalTest, ResetEmptiesTheFile) {
  std::vector<std::string> records;
  Journal::ReplayResult result;
  {
    auto journal = Open(&records, &result);
    (*journal)->Append("first");
    ASSERT_TRUE((*journal)->Sync().ok());
    ASSERT_TRUE((*journal)->Reset().ok());
    EXPECT_EQ((*journal)->size(), 0u);
  }
  records.clear();
  ASSERT_TRUE(Open(&records, &result).ok());
  EXPECT_TRUE(records.empty());
}

TEST_F(JournalTest, ReplayErrorStopsOpen) {
  std::vector<std::string> records;
  Journal::ReplayResult result;
  {
    auto journal = Open(&records, &result);
    (*journal)->Append("first");
    ASSERT_TRUE((*journal)->Sync().ok());
  }
  auto journal = Journal::Create(
      path_, [](absl::string_view) { return absl::DataLossError("bad"); }, &result);
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace clownix::server
