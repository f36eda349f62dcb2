// The pseudo-terminals that carry a VM's console (con0) and agent line (ssl1).
//
// UML gets a pty's master (con0=fd:N) and also inherits one of its slaves, which it only holds:
// the slave then never sees its last close, so neither side hangs up when clownixd exits, and
// clownixd (this one or a restarted one) opens the slave again by path for its end of the line.
#ifndef CLOWNIX_VMM_PTY_H_
#define CLOWNIX_VMM_PTY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"

namespace clownix::vmm {

class Pty {
 public:
  // A new pty: its master and one raw slave, both close-on-exec. Errors as errno maps them.
  static absl::StatusOr<Pty> Open();

  // Opens the slave at `path` (/dev/pts/N) for clownix's end of a line: raw (no echo, no CR/LF
  // translation), non-blocking, close-on-exec. Errors as errno maps them.
  static absl::StatusOr<common::UniqueFd> OpenRawSlave(const std::string& path);

  int master() const { return master_.get(); }
  int slave() const { return slave_.get(); }
  const std::string& slave_path() const { return slave_path_; }

 private:
  Pty() = default;

  common::UniqueFd master_;
  common::UniqueFd slave_;
  std::string slave_path_;
};

// Writes all of `data` to a non-blocking line (a pty, a pipe), waiting for room until `deadline`.
// DEADLINE_EXCEEDED: the line did not drain in time (part of `data` may have been written);
// other errors as errno maps them. `written`, if given, is set to the bytes written, also on an
// error. The caller serializes writers of one line.
absl::Status WriteToLine(int fd, absl::string_view data, absl::Time deadline,
                         size_t* written = nullptr);

// Sets the window size of the terminal `fd` is a side of (TIOCSWINSZ): both sides of a pty share
// it, and the kernel sends SIGWINCH to the terminal's foreground process group when it changes.
// UML's console driver has such a process (its winch helper, which made the line its controlling
// terminal) and passes the new size on to the guest's tty. Errors as errno maps them.
absl::Status SetWindowSize(int fd, uint16_t rows, uint16_t columns);

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_PTY_H_
