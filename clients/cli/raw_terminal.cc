#include "clients/cli/raw_terminal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace clownix::cli {
namespace {

// Where the SIGWINCH handler writes: a pipe made by the first active RawTerminal and kept for
// the process's life (closing it could race a handler running on another thread).
std::atomic<int> resize_write_fd{-1};
int resize_read_fd = -1;

void OnWindowChange(int) {
  const int saved_errno = errno;
  const int fd = resize_write_fd.load();
  // A full pipe already says "resized": losing this byte loses nothing.
  if (fd >= 0) (void)!write(fd, "w", 1);
  errno = saved_errno;
}

}  // namespace

std::optional<WindowSize> TerminalSize(int fd) {
  struct winsize size = {};
  if (ioctl(fd, TIOCGWINSZ, &size) != 0 || size.ws_row == 0 || size.ws_col == 0) {
    return std::nullopt;
  }
  return WindowSize{size.ws_row, size.ws_col};
}

absl::StatusOr<std::unique_ptr<RawTerminal>> RawTerminal::Enter(int fd) {
  struct termios saved = {};
  if (!isatty(fd)) return std::unique_ptr<RawTerminal>(new RawTerminal(fd, false, saved));
  if (tcgetattr(fd, &saved) != 0) {
    return absl::InternalError(absl::StrCat("tcgetattr: ", std::strerror(errno)));
  }
  if (resize_read_fd < 0) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
      return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
    }
    resize_read_fd = pipe_fds[0];
    resize_write_fd.store(pipe_fds[1]);
  }
  struct termios raw = saved;
  cfmakeraw(&raw);
  // Keep output post-processing so that our own "\n" messages still start a new line.
  raw.c_oflag |= OPOST;
  if (tcsetattr(fd, TCSAFLUSH, &raw) != 0) {
    return absl::InternalError(absl::StrCat("tcsetattr: ", std::strerror(errno)));
  }
  std::unique_ptr<RawTerminal> terminal(new RawTerminal(fd, true, saved));
  terminal->resize_read_ = resize_read_fd;
  struct sigaction action = {};
  action.sa_handler = OnWindowChange;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGWINCH, &action, &terminal->saved_winch_);
  return terminal;
}

std::optional<WindowSize> RawTerminal::TakeResize() {
  char drain[64];
  while (resize_read_ >= 0 && read(resize_read_, drain, sizeof(drain)) > 0) {
  }
  return TerminalSize(fd_);
}

RawTerminal::~RawTerminal() {
  if (!active_) return;
  sigaction(SIGWINCH, &saved_winch_, nullptr);
  tcsetattr(fd_, TCSAFLUSH, &saved_);
}

}  // namespace clownix::cli
