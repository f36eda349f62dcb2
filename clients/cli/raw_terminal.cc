#include "clients/cli/raw_terminal.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace clownix::cli {

absl::StatusOr<std::unique_ptr<RawTerminal>> RawTerminal::Enter(int fd) {
  struct termios saved = {};
  if (!isatty(fd)) return std::unique_ptr<RawTerminal>(new RawTerminal(fd, false, saved));
  if (tcgetattr(fd, &saved) != 0) {
    return absl::InternalError(absl::StrCat("tcgetattr: ", std::strerror(errno)));
  }
  struct termios raw = saved;
  cfmakeraw(&raw);
  // Keep output post-processing so that our own "\n" messages still start a new line.
  raw.c_oflag |= OPOST;
  if (tcsetattr(fd, TCSAFLUSH, &raw) != 0) {
    return absl::InternalError(absl::StrCat("tcsetattr: ", std::strerror(errno)));
  }
  return std::unique_ptr<RawTerminal>(new RawTerminal(fd, true, saved));
}

RawTerminal::~RawTerminal() {
  if (active_) tcsetattr(fd_, TCSAFLUSH, &saved_);
}

}  // namespace clownix::cli
