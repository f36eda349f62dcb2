// clownix console relay: the guest's end of the console's flow control (vmm/console_flow.h).
//
//   clownix-console [-]PROGRAM [ARG...]     (busybox init runs it on tty0, respawned)
//
// Why: Debian's UML kernel (6.1) stops a line for good once the guest's tty has throttled it, at
// 3968 unread bytes (docs/uml-facts.md #22): a paste of a few KiB into the console froze it for
// the VM's life. So the console's shell no longer reads the line itself. This relay owns the line
// (raw, no echo), runs PROGRAM on a pty of its own, copies keystrokes from the line to the pty and
// output back, and tells the host how many keystrokes it has handed on, with marks in the output
// that the host removes (ConsoleFlowFilter). The host keeps at most ConsoleLine::kUnreadBudget
// bytes unacknowledged, so the line never holds enough to throttle; the pty, an ordinary one,
// throttles and unthrottles correctly when the shell is slow.
//
// The relay reads the line only when it has handed on everything it read before, and
// acknowledges bytes once the pty has taken them, so what the host counts unread is what sits in
// the line and in the relay: never more than the host's budget.
//
// PROGRAM starts at the first keystroke, as busybox's "askfirst" would start it: a VM whose
// console nobody uses never pays for a login shell. A leading '-' on PROGRAM runs it as a login
// shell (argv[0] "-NAME"), as in busybox's inittab. When PROGRAM ends the relay ends, and init
// starts it again.
//
// Built static (libc only) for every image, like the agent: vmm/rootfs (tiny, by Bazel) and
// images/debian/build_image.sh (debian, by g++ at image build time).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

// The marks (vmm/console_flow.h has the host's side and the grammar).
constexpr char kStartMark[] = "\x1b_clownix-console start\x1b\\";
constexpr char kReadMarkFormat[] = "\x1b_clownix-console read %zu\x1b\\";

// What one read of the line takes (more than the host's budget: a whole burst in one read) and
// how much output the relay holds before it stops reading the program's pty.
constexpr size_t kReadBytes = 4096;
constexpr size_t kMaxOutputHeld = 64 * 1024;

bool SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// The line's size (set by UML's winch helper from the host's pty) given to the program's pty,
// which sends SIGWINCH to the program.
void CopyWindowSize(int line, int pty) {
  winsize size;
  if (ioctl(line, TIOCGWINSZ, &size) == 0 && size.ws_row != 0) ioctl(pty, TIOCSWINSZ, &size);
}

// Starts `argv` on a new pty as its session's controlling terminal; returns the pty's master
// (-1 on failure) and the child's pid in `*pid`.
int StartOnPty(char** argv, pid_t* pid, const sigset_t& blocked) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return -1;
  const char* slave_name = ptsname(master);
  if (slave_name == nullptr) return -1;
  std::string path = argv[0];
  std::string arg0 = path;
  if (path[0] == '-') {
    path.erase(0, 1);
    arg0 = "-" + path.substr(path.rfind('/') + 1);
  }
  *pid = fork();
  if (*pid < 0) return -1;
  if (*pid == 0) {
    sigprocmask(SIG_UNBLOCK, &blocked, nullptr);
    setsid();
    int slave = open(slave_name, O_RDWR);
    if (slave < 0) _exit(127);
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (slave > 2) close(slave);
    argv[0] = arg0.data();
    execv(path.c_str(), argv);
    _exit(127);
  }
  return master;
}

class Relay {
 public:
  // The start mark goes first, before any acknowledgement: from it on, the host counts.
  Relay(int line, int signals, char** argv, const sigset_t& blocked)
      : line_(line), signals_(signals), argv_(argv), blocked_(blocked), to_line_(kStartMark) {
    to_line_ += "\r\nPress Enter for a shell.\r\n";
  }

  // Starts the program at the first keystroke (a console nobody types on costs no shell: under
  // UML a login shell's start is a good part of a boot's CPU), then relays until it has ended;
  // what it left in the pty then goes to the line. A process it left behind that still holds
  // the pty does not keep the console from a new shell. False: the program could not be started
  // on a pty.
  bool Run() {
    while (pty_ < 0 || child_ > 0) {
      pollfd fds[3] = {{line_gone_ ? -1 : line_, 0, 0}, {-1, 0, 0}, {signals_, POLLIN, 0}};
      if (to_pty_.empty()) fds[0].events |= POLLIN;
      if (!to_line_.empty()) fds[0].events |= POLLOUT;
      if (pty_ >= 0 && pty_open_) {
        fds[1].fd = pty_;
        if (to_line_.size() < kMaxOutputHeld) fds[1].events |= POLLIN;
        if (!to_pty_.empty()) fds[1].events |= POLLOUT;
      }
      if (poll(fds, 3, -1) < 0 && errno != EINTR) return true;
      if (fds[2].revents & POLLIN) OnSignals();
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) ReadLine();
      if (line_gone_ && pty_ < 0) return true;
      if (pty_ < 0 && !to_pty_.empty()) {
        pty_ = StartOnPty(argv_, &child_, blocked_);
        if (pty_ < 0 || !SetNonBlocking(pty_)) return false;
        CopyWindowSize(line_, pty_);
      }
      if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) ReadPty();
      WritePty();
      WriteLine();
    }
    ReadPty();
    WritePty();
    WriteLine();
    for (int tries = 0; !to_line_.empty() && tries < 10; ++tries) {
      pollfd out = {line_, POLLOUT, 0};
      if (poll(&out, 1, 100) > 0) WriteLine();
    }
    return true;
  }

 private:
  // A line that hangs up (the host's side never does while the VM runs, but a relay must not spin
  // on one that does) is dropped, and the program is hung up too; init starts a new relay.
  void ReadLine() {
    char buf[kReadBytes];
    ssize_t n = read(line_, buf, sizeof(buf));
    if (n > 0) {
      to_pty_.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      line_gone_ = true;
      to_line_.clear();
      if (child_ > 0) kill(-child_, SIGHUP);
    }
  }

  // Hands keystrokes on and acknowledges what the pty took. With the program gone, what it can
  // no longer take is dropped and acknowledged all the same, so the host never waits for it.
  void WritePty() {
    if (to_pty_.empty()) return;
    size_t taken = to_pty_.size();
    if (pty_open_) {
      ssize_t n = write(pty_, to_pty_.data(), to_pty_.size());
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n >= 0) taken = static_cast<size_t>(n);
    }
    to_pty_.erase(0, taken);
    char mark[64];
    int len = snprintf(mark, sizeof(mark), kReadMarkFormat, taken);
    to_line_.append(mark, static_cast<size_t>(len));
  }

  void ReadPty() {
    char buf[16384];
    ssize_t n = read(pty_, buf, sizeof(buf));
    if (n > 0) {
      to_line_.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      pty_open_ = false;  // EIO: no process holds the pty's slave any more.
    }
  }

  void WriteLine() {
    if (line_gone_) to_line_.clear();
    while (!to_line_.empty()) {
      ssize_t n = write(line_, to_line_.data(), to_line_.size());
      if (n <= 0) return;  // Full (POLLOUT wakes the loop) or gone (init will start a new relay).
      to_line_.erase(0, static_cast<size_t>(n));
    }
  }

  void OnSignals() {
    signalfd_siginfo info;
    while (read(signals_, &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo == SIGWINCH && pty_ >= 0) CopyWindowSize(line_, pty_);
    }
    int status;
    while (child_ > 0 && waitpid(child_, &status, WNOHANG) == child_) child_ = 0;
  }

  const int line_;
  const int signals_;
  char** const argv_;
  const sigset_t blocked_;
  int pty_ = -1;  // The program's pty's master, once started.
  pid_t child_ = 0;
  bool pty_open_ = true;
  bool line_gone_ = false;
  std::string to_pty_;   // Read from the line, not yet taken by the pty.
  std::string to_line_;  // The program's output and the marks, not yet written to the line.
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: clownix-console [-]PROGRAM [ARG...]\n");
    return 2;
  }
  setenv("PATH", "/sbin:/bin:/usr/sbin:/usr/bin", 1);
  // The line becomes this session's controlling terminal (init may have done so already), so
  // that UML's winch interrupt, which signals the line's foreground process group, reaches the
  // relay.
  setsid();
  ioctl(0, TIOCSCTTY, 0);
  termios tio;
  if (tcgetattr(0, &tio) == 0) {
    cfmakeraw(&tio);
    tcsetattr(0, TCSANOW, &tio);
  }
  // Keystrokes typed before the relay started (the host writes as soon as the VM runs) stay in
  // the line and reach the shell. The host counts only from the start mark, so their
  // acknowledgements count for nothing there (ConsoleLine clamps at zero).

  signal(SIGCHLD, SIG_DFL);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD);
  sigaddset(&blocked, SIGWINCH);
  sigprocmask(SIG_BLOCK, &blocked, nullptr);
  int signals = signalfd(-1, &blocked, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signals < 0 || !SetNonBlocking(0)) return 1;
  // stdin and stdout are one open file (init opened the line once); the relay uses fd 0 for both.
  Relay relay(0, signals, argv + 1, blocked);
  if (!relay.Run()) {
    // No pty: the program gets the line itself, as before the relay (no flow control).
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) & ~O_NONBLOCK);
    sigprocmask(SIG_UNBLOCK, &blocked, nullptr);
    execv(argv[1][0] == '-' ? argv[1] + 1 : argv[1], argv + 1);
    return 127;
  }
  return 0;
}
