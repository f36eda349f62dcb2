#include "vmm/pty.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/unique_fd.h"
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

// `written` is what the line took, on success and at the deadline (a socket pair: FIONREAD on the
// other side counts exactly what was written).
TEST(PtyTest, WriteToLineSaysHowMuchItWrote) {
  int sides[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sides), 0);
  common::UniqueFd line(sides[0]), peer(sides[1]);
  size_t written = 0;
  ASSERT_TRUE(WriteToLine(line.get(), "abc", absl::Now() + absl::Seconds(5), &written).ok());
  EXPECT_EQ(written, 3u);
  const std::string big(4 << 20, 'x');  // more than the socket's buffers hold
  EXPECT_EQ(WriteToLine(line.get(), big, absl::Now(), &written).code(),
            absl::StatusCode::kDeadlineExceeded);
  int pending = 0;
  ASSERT_EQ(ioctl(peer.get(), FIONREAD, &pending), 0);
  EXPECT_GT(written, 0u);
  EXPECT_LT(written, big.size());
  EXPECT_EQ(written + 3, static_cast<size_t>(pending));
}

}  // namespace
}  // namespace clownix::vmm
