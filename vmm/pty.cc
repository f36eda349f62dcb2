#include "vmm/pty.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace clownix::vmm {

absl::StatusOr<common::UniqueFd> Pty::OpenRawSlave(const std::string& path) {
  common::UniqueFd fd(open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  termios t;
  if (tcgetattr(fd.get(), &t) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("tcgetattr ", path));
  cfmakeraw(&t);
  if (tcsetattr(fd.get(), TCSANOW, &t) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("tcsetattr ", path));
  }
  return fd;
}

absl::StatusOr<Pty> Pty::Open() {
  Pty pty;
  pty.master_.reset(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master_.valid()) return absl::ErrnoToStatus(errno, "posix_openpt");
  char name[64];
  if (grantpt(pty.master()) != 0 || unlockpt(pty.master()) != 0 ||
      ptsname_r(pty.master(), name, sizeof(name)) != 0) {
    return absl::ErrnoToStatus(errno, "pty");
  }
  pty.slave_path_ = name;
  absl::StatusOr<common::UniqueFd> slave = OpenRawSlave(pty.slave_path_);
  if (!slave.ok()) return slave.status();
  pty.slave_ = std::move(*slave);
  return pty;
}

namespace {

// WriteToLine's loop; `data` keeps what is left unwritten.
absl::Status WriteAllBy(int fd, absl::string_view& data, absl::Time deadline) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return absl::ErrnoToStatus(errno, "write");
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration())
      return absl::DeadlineExceededError("the line is not draining");
    const int wait_ms = static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), 60000));
    pollfd p = {fd, POLLOUT, 0};
    if (poll(&p, 1, wait_ms) < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "poll");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteToLine(int fd, absl::string_view data, absl::Time deadline, size_t* written) {
  const size_t size = data.size();
  absl::Status status = WriteAllBy(fd, data, deadline);
  if (written != nullptr) *written = size - data.size();
  return status;
}

absl::Status SetWindowSize(int fd, uint16_t rows, uint16_t columns) {
  struct winsize size = {};
  size.ws_row = rows;
  size.ws_col = columns;
  if (ioctl(fd, TIOCSWINSZ, &size) != 0) return absl::ErrnoToStatus(errno, "TIOCSWINSZ");
  return absl::OkStatus();
}

}  // namespace clownix::vmm
