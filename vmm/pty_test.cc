#include "vmm/pty.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

TEST(PtyTest, OpensARawPairWhoseSlaveCanBeReopenedByPath) {
  absl::StatusOr<Pty> pty = Pty::Open();
  ASSERT_TRUE(pty.ok()) << pty.status();
  EXPECT_TRUE(absl::StartsWith(pty->slave_path(), "/dev/pts/")) << pty->slave_path();
  EXPECT_TRUE(fcntl(pty->master(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(fcntl(pty->slave(), F_GETFD) & FD_CLOEXEC);
  absl::StatusOr<common::UniqueFd> again = Pty::OpenRawSlave(pty->slave_path());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(fcntl(again->get(), F_GETFL) & O_NONBLOCK);
  termios t;
  ASSERT_EQ(tcgetattr(again->get(), &t), 0);
  EXPECT_EQ(t.c_lflag & (ECHO | ICANON), 0u);  // Raw: no echo, no line editing.
  // Bytes pass untouched both ways.
  const std::string bytes = "a\r\nb\x03";
  ASSERT_TRUE(WriteToLine(again->get(), bytes, absl::Now() + absl::Seconds(5)).ok());
  std::string got(bytes.size(), '\0');
  ASSERT_EQ(read(pty->master(), got.data(), got.size()), static_cast<ssize_t>(bytes.size()));
  EXPECT_EQ(got, bytes);
}

TEST(PtyTest, AMissingSlaveIsNotFound) {
  EXPECT_EQ(Pty::OpenRawSlave("/dev/pts/999999").status().code(), absl::StatusCode::kNotFound);
}

TEST(PtyTest, WriteToALineNobodyReadsEndsAtTheDeadline) {
  absl::StatusOr<Pty> pty = Pty::Open();
  ASSERT_TRUE(pty.ok()) << pty.status();
  const std::string chunk(64 * 1024, 'x');
  absl::Status written;
  for (int i = 0; i < 64 && written.ok(); ++i) {
    written = WriteToLine(pty->slave(), chunk, absl::Now());
  }
  EXPECT_EQ(written.code(), absl::StatusCode::kDeadlineExceeded) << written;
}

}  // namespace
}  // namespace clownix::vmm
