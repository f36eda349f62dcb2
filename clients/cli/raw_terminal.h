// RawTerminal: puts a terminal in raw mode (no line editing, no echo, no signals from keys)
// for as long as the object lives, and restores the saved settings when destroyed.
#ifndef CLOWNIX_CLIENTS_CLI_RAW_TERMINAL_H_
#define CLOWNIX_CLIENTS_CLI_RAW_TERMINAL_H_

#include <termios.h>

#include <memory>

#include "absl/status/statusor.h"

namespace clownix::cli {

class RawTerminal {
 public:
  // Raw mode on `fd` when it is a terminal; when it is not (a pipe, a file), a no-op object whose
  // active() is false. INTERNAL if the terminal refuses the settings.
  static absl::StatusOr<std::unique_ptr<RawTerminal>> Enter(int fd);

  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal();

  bool active() const { return active_; }

 private:
  RawTerminal(int fd, bool active, const struct termios& saved)
      : fd_(fd), active_(active), saved_(saved) {}

  int fd_;
  bool active_;
  struct termios saved_;
};

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_RAW_TERMINAL_H_
