// RawTerminal: puts a terminal in raw mode (no line editing, no echo, no signals from keys)
// for as long as the object lives, and restores the saved settings when destroyed. Meanwhile it
// also catches SIGWINCH, so that a console can follow the terminal's size.
#ifndef CLOWNIX_CLIENTS_CLI_RAW_TERMINAL_H_
#define CLOWNIX_CLIENTS_CLI_RAW_TERMINAL_H_

#include <signal.h>
#include <termios.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"

namespace clownix::cli {

// A terminal's size in character cells.
struct WindowSize {
  uint16_t rows = 0;
  uint16_t columns = 0;
  bool operator==(const WindowSize& other) const {
    return rows == other.rows && columns == other.columns;
  }
  bool operator!=(const WindowSize& other) const { return !(*this == other); }
};

// The size of the terminal `fd` is (TIOCGWINSZ); nullopt when it is not a terminal or does not
// know its size (0 rows or columns, as a pty nobody sized says).
std::optional<WindowSize> TerminalSize(int fd);

class RawTerminal {
 public:
  // Raw mode on `fd` when it is a terminal; when it is not (a pipe, a file), a no-op object whose
  // active() is false. INTERNAL if the terminal refuses the settings. At most one active
  // RawTerminal at a time (it owns the process's SIGWINCH handler while it lives).
  static absl::StatusOr<std::unique_ptr<RawTerminal>> Enter(int fd);

  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal();

  bool active() const { return active_; }

  // A descriptor that becomes readable when the process gets SIGWINCH (the terminal's size
  // changed), for poll(); -1 when not active. TakeResize() empties it.
  int resize_fd() const { return resize_read_; }
  // Empties resize_fd() and returns the terminal's size now (TerminalSize).
  std::optional<WindowSize> TakeResize();

 private:
  RawTerminal(int fd, bool active, const struct termios& saved)
      : fd_(fd), active_(active), saved_(saved) {}

  int fd_;
  bool active_;
  struct termios saved_;
  int resize_read_ = -1;  // Not owned.
  struct sigaction saved_winch_ = {};
};

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_RAW_TERMINAL_H_
