// clownix guest agent: the guest's end of vmm/agent_protocol.h, on /dev/ttyS1 (busybox init
// makes the line its stdin and stdout and respawns the agent if it ends).
//
// One process and one loop: requests are read from the line, each command is one fork + exec of
// /bin/sh in a session of its own, its output goes to a memfd, and the agent writes every reply
// itself, whole, so replies never interleave. Under UML each host-visible fork costs tens of ms of
// host CPU, so nothing here forks but the command itself (the shell script this replaces forked
// about fourteen times per command).
//
// ssh is started on demand: when the guest has root's authorized keys, the agent holds port 22
// and runs one `dropbear -i` per connection, instead of a dropbear daemon started at every boot
// (~0.15 s of host CPU per boot, most VMs never see an ssh connection: docs/benchmarks/vmm.md).
//
// Built static (libc only) so that it runs on every image: vmm/rootfs (tiny, by Bazel) and
// images/debian/build_image.sh (debian, by g++ at image build time).
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// The host keeps within the protocol's limits (AgentProtocol::EncodeExec); these only bound what
// the agent holds whatever arrives. A request line is at most "Q exec ID T CAP " plus the base64
// of a 16 KiB command; a longer one is noise and is dropped rather than buffered without bound.
constexpr size_t kMaxLineBytes = 64 * 1024;
constexpr long kMaxOutputCap = 1024 * 1024;
constexpr long kMaxTimeoutSeconds = 86400;

constexpr char kDropbear[] = "/usr/sbin/dropbear";
constexpr char kAuthorizedKeys[] = "/root/.ssh/authorized_keys";
// ssh connections served at once; more are closed as they come (dropbear's own daemon refuses
// more than 30 unauthenticated ones). Bounds the processes a flood of connections can start.
constexpr size_t kMaxSshConnections = 64;

struct Job {
  pid_t pid;
  std::string id;
  size_t cap;
  int output_fd;  // memfd holding the command's stdout + stderr
  int64_t deadline_ms;
  bool timed_out;
};

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// The whole of a small /proc file, "" if it cannot be read.
std::string ReadSmallFile(const char* path) {
  std::string out;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

// The digits right after `key` in `text`, "" if `key` is not there.
std::string NumberAfter(const std::string& text, const char* key) {
  size_t at = text.find(key);
  if (at == std::string::npos) return "";
  at += strlen(key);
  size_t end = at;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  return text.substr(at, end - at);
}

// The kernel's loops_per_jiffy: on its command line once the host has learnt it, otherwise from
// the delay-loop calibration line of the kernel log; "0" if neither says.
std::string LoopsPerJiffy() {
  std::string lpj = NumberAfter(" " + ReadSmallFile("/proc/cmdline"), " lpj=");
  if (lpj.empty()) {
    int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0);
    if (size > 0) {
      std::string log(static_cast<size_t>(size), '\0');
      int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log.data(), size);
      if (n > 0) log.resize(static_cast<size_t>(n));
      lpj = n > 0 ? NumberAfter(log, "(lpj=") : "";
    }
  }
  return lpj.empty() ? "0" : lpj;
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 40) return false;
  for (char c : id) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

// A decimal in [0, max]; false for anything else.
bool ParseNumber(const std::string& s, long max, long* out) {
  if (s.empty() || s.size() > 12) return false;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void AppendBase64(const unsigned char* data, size_t n, std::string* out) {
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out->push_back(kBase64[v >> 18]);
    out->push_back(kBase64[(v >> 12) & 63]);
    out->push_back(kBase64[(v >> 6) & 63]);
    out->push_back(kBase64[v & 63]);
  }
  if (i < n) {
    uint32_t v = uint32_t{data[i]} << 16;
    if (i + 1 < n) v |= uint32_t{data[i + 1]} << 8;
    out->push_back(kBase64[v >> 18]);
    out->push_back(kBase64[(v >> 12) & 63]);
    out->push_back(i + 1 < n ? kBase64[(v >> 6) & 63] : '=');
    out->push_back('=');
  }
}

// Standard base64 with padding; false for anything else.
bool DecodeBase64(const std::string& in, std::string* out) {
  if (in.size() % 4 != 0) return false;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = value(c)) < 0) {
        return false;
      }
    }
    uint32_t bits = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | v[3];
    out->push_back(static_cast<char>(bits >> 16));
    if (pad < 2) out->push_back(static_cast<char>((bits >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(bits & 0xff));
  }
  return true;
}

std::vector<std::string> SplitSpaces(const std::string& line) {
  std::vector<std::string> fields;
  size_t at = 0;
  while (at < line.size()) {
    size_t end = line.find(' ', at);
    if (end == std::string::npos) end = line.size();
    if (end > at) fields.push_back(line.substr(at, end - at));
    at = end + 1;
  }
  return fields;
}

// A non-blocking socket listening on port 22 of `family`'s any-address (IPv6 only for AF_INET6),
// -1 if there is none (no IPv6 in the guest: the tiny image's kernel has none).
int ListenOnPort22(int family) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage address = {};
  socklen_t length;
  if (family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    auto* any6 = reinterpret_cast<sockaddr_in6*>(&address);
    any6->sin6_family = AF_INET6;
    any6->sin6_port = htons(22);
    any6->sin6_addr = in6addr_any;
    length = sizeof(*any6);
  } else {
    auto* any = reinterpret_cast<sockaddr_in*>(&address);
    any->sin_family = AF_INET;
    any->sin_port = htons(22);
    any->sin_addr.s_addr = htonl(INADDR_ANY);
    length = sizeof(*any);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0 && listen(fd, 16) == 0) {
    return fd;
  }
  close(fd);
  return -1;
}

// Port 22, as the dropbear daemon held it: one IPv4 and one IPv6-only socket (so what `ss -ltn`
// shows, and the signatures labs record from it, stay as they were). None when ssh is off: no
// dropbear in the image, or no key to let anyone in (dropbear runs with -s, keys only), exactly
// when the images' rcS used to start the daemon.
std::vector<int> OpenSshListeners() {
  std::vector<int> listeners;
  struct stat st;
  if (access(kDropbear, X_OK) != 0 || stat(kAuthorizedKeys, &st) != 0 || st.st_size == 0) {
    return listeners;
  }
  for (int family : {AF_INET, AF_INET6}) {
    int fd = ListenOnPort22(family);
    if (fd >= 0) listeners.push_back(fd);
  }
  return listeners;
}

// The state a child of the agent starts from: a session of its own, no signal blocked.
void EnterOwnSession() {
  setsid();
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

class Agent {
 public:
  // `ssh`: the sockets listening for ssh connections (OpenSshListeners).
  Agent(int in, int out, int children, std::vector<int> ssh)
      : in_(in), out_(out), children_(children), ssh_(std::move(ssh)) {}

  void Run() {
    for (;;) {
      // The line, the children, the line for writing when replies wait, then the ssh listeners.
      std::vector<pollfd> fds = {
          {in_, POLLIN, 0}, {children_, POLLIN, 0}, {pending_.empty() ? -1 : out_, POLLOUT, 0}};
      for (int listener : ssh_) fds.push_back({listener, POLLIN, 0});
      int ready = poll(fds.data(), fds.size(), PollTimeoutMs());
      if (ready < 0 && errno != EINTR) return;
      if (ready > 0 && (fds[1].revents & POLLIN)) ReapChildren();
      for (size_t i = 0; ready > 0 && i < ssh_.size(); ++i) {
        if (fds[3 + i].revents & POLLIN) AcceptSsh(ssh_[i]);
      }
      if (fds[2].revents) Flush();
      if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        // The line went away (EOF, EIO): init starts a new agent when it is back.
        if (!ReadRequests()) return;
      }
      KillOverdue();
    }
  }

  // Queues `line` (with its '\n') for the host; written whole, in order, by Flush.
  void Send(std::string line) {
    pending_ += line;
    Flush();
  }

 private:
  int PollTimeoutMs() const {
    int64_t next = -1;
    for (const Job& job : jobs_) {
      if (!job.timed_out && (next < 0 || job.deadline_ms < next)) next = job.deadline_ms;
    }
    if (next < 0) return -1;
    int64_t wait = next - NowMs();
    return wait < 0 ? 0 : static_cast<int>(wait > 60000 ? 60000 : wait);
  }

  void Flush() {
    while (!pending_.empty()) {
      ssize_t n = write(out_, pending_.data(), pending_.size());
      if (n > 0) {
        pending_.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;  // poll says when there is room
      // The line is broken (EIO): nothing queued can reach the host, and keeping it would make
      // poll report the error without pause. Reading the line fails too and ends the agent.
      pending_.clear();
      return;
    }
  }

  bool ReadRequests() {
    char buf[16384];
    size_t got = 0;
    bool open = true;
    for (;;) {
      ssize_t n = read(in_, buf, sizeof(buf));
      if (n > 0) {
        input_.append(buf, static_cast<size_t>(n));
        got += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      open = false;
      break;
    }
    // What was read, first: the host sends more only once the guest's tty has room for it
    // (agent_protocol.h, flow control).
    if (got > 0) Send("A read " + std::to_string(got) + "\n");
    if (!open) return false;
    size_t start = 0;
    for (size_t nl; (nl = input_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = input_.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      Handle(line);
    }
    input_.erase(0, start);
    if (input_.size() > kMaxLineBytes) input_.clear();
    return true;
  }

  // Lines that are not requests (noise left in the line) are ignored, as the protocol says.
  void Handle(const std::string& line) {
    std::vector<std::string> f = SplitSpaces(line);
    if (f.size() < 3 || f[0] != "Q" || !ValidId(f[2])) return;
    if (f[1] == "ping" && f.size() == 3) {
      Send("A pong " + f[2] + "\n");
      return;
    }
    long timeout_s, cap;
    std::string command;
    if (f[1] != "exec" || f.size() != 6 || !ParseNumber(f[3], kMaxTimeoutSeconds, &timeout_s) ||
        !ParseNumber(f[4], kMaxOutputCap, &cap) || !DecodeBase64(f[5], &command) ||
        command.find('\0') != std::string::npos) {
      // An exec the agent cannot run still gets an answer, so its caller does not wait for the
      // deadline: the shell's "cannot execute" status and what went wrong.
      if (f[1] == "exec") Reply(f[2], "126", "clownix-agent: malformed exec request\n");
      return;
    }
    Start(f[2], timeout_s < 1 ? 1 : timeout_s, static_cast<size_t>(cap), command);
  }

  void Start(const std::string& id, long timeout_s, size_t cap, const std::string& command) {
    int output = memfd_create("clownix-exec", MFD_CLOEXEC);
    if (output < 0) {
      Reply(id, "126", std::string("clownix-agent: memfd_create: ") + strerror(errno) + "\n");
      return;
    }
    pid_t pid = fork();
    if (pid == 0) {
      // The command's own session (its whole group is killed at the timeout), the signals the
      // agent blocks unblocked again, stdin /dev/null, stdout and stderr the memfd.
      EnterOwnSession();
      int null = open("/dev/null", O_RDONLY);
      if (null >= 0 && null != 0) {
        dup2(null, 0);
        close(null);
      }
      dup2(output, 1);
      dup2(output, 2);
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (pid < 0) {
      close(output);
      Reply(id, "126", std::string("clownix-agent: fork: ") + strerror(errno) + "\n");
      return;
    }
    jobs_.push_back({pid, id, cap, output, NowMs() + int64_t{timeout_s} * 1000, false});
  }

  // Each waiting connection gets a `dropbear -i` of its own (inetd mode: the connection is its
  // stdin and stdout); -R makes the host keys at the first connection that needs them, -s allows
  // keys only. Its log goes to syslog, as the daemon's did.
  void AcceptSsh(int listener) {
    for (;;) {
      int connection = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) {
        if (errno == EINTR) continue;
        return;  // EAGAIN: all taken; anything else (ECONNABORTED, EMFILE): try at the next wake
      }
      if (ssh_pids_.size() >= kMaxSshConnections) {
        close(connection);
        continue;
      }
      pid_t pid = fork();
      if (pid == 0) {
        EnterOwnSession();
        dup2(connection, 0);
        dup2(connection, 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 2);
        execl(kDropbear, "dropbear", "-i", "-R", "-s", static_cast<char*>(nullptr));
        _exit(127);
      }
      close(connection);
      if (pid > 0) ssh_pids_.push_back(pid);
    }
  }

  void KillOverdue() {
    const int64_t now = NowMs();
    for (Job& job : jobs_) {
      if (job.timed_out || job.deadline_ms > now) continue;
      job.timed_out = true;
      kill(-job.pid, SIGKILL);  // its session's group; ESRCH: it has just ended by itself
    }
  }

  void ReapChildren() {
    signalfd_siginfo info;
    while (read(children_, &info, sizeof(info)) == sizeof(info)) {
    }
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      for (size_t i = 0; i < ssh_pids_.size(); ++i) {
        if (ssh_pids_[i] != pid) continue;
        ssh_pids_[i] = ssh_pids_.back();
        ssh_pids_.pop_back();
        break;
      }
      for (size_t i = 0; i < jobs_.size(); ++i) {
        if (jobs_[i].pid != pid) continue;
        Job job = jobs_[i];
        jobs_.erase(jobs_.begin() + static_cast<long>(i));
        Finish(job, status);
        break;
      }
    }
  }

  void Finish(const Job& job, int status) {
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const std::string rc = job.timed_out ? "timeout" : std::to_string(code);
    struct stat st;
    const size_t total = fstat(job.output_fd, &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
    std::string output(total < job.cap ? total : job.cap, '\0');
    ssize_t got = output.empty() ? 0 : pread(job.output_fd, output.data(), output.size(), 0);
    output.resize(got > 0 ? static_cast<size_t>(got) : 0);
    close(job.output_fd);
    SendExecReply(job.id, rc, total, output);
  }

  void Reply(const std::string& id, const std::string& rc, const std::string& output) {
    SendExecReply(id, rc, output.size(), output);
  }

  void SendExecReply(const std::string& id, const std::string& rc, size_t total,
                     const std::string& output) {
    std::string line = "A exec " + id + " " + rc + " " + std::to_string(total) + " ";
    AppendBase64(reinterpret_cast<const unsigned char*>(output.data()), output.size(), &line);
    line += '\n';
    Send(std::move(line));
  }

  const int in_, out_, children_;
  const std::vector<int> ssh_;
  std::vector<pid_t> ssh_pids_;  // the dropbears serving connections now
  std::string input_;
  std::string pending_;
  std::vector<Job> jobs_;
};

}  // namespace

int main() {
  setenv("PATH", "/sbin:/bin:/usr/sbin:/usr/bin", 1);
  // Raw, as `stty raw -echo -opost`: no echo of requests, no CR/LF translation of replies.
  termios tio;
  if (tcgetattr(0, &tio) == 0) {
    cfmakeraw(&tio);
    tcsetattr(0, TCSANOW, &tio);
  }
  // Children are reaped through a signalfd, so the loop waits for the line and them alike. An
  // ignored SIGCHLD (inherited from whoever started the agent) would reap them unseen.
  signal(SIGCHLD, SIG_DFL);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  int children = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (children < 0) return 1;
  // stdin and stdout are one open file (init opened the line once): both become non-blocking.
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);

  // Tell the host (mconsole notify socket, see vmm/agent_protocol.h) that this line now has a
  // reader, so it can look up the line's pty and attach.
  const std::string name = FirstLine(ReadSmallFile("/run/clownix-name"));
  int mconsole = open("/proc/mconsole", O_WRONLY | O_CLOEXEC);
  if (mconsole >= 0) {
    const std::string note = "agent-ready " + name + "\n";
    // Not checked: without the note the host's first ping, waiting in the line, still answers.
    (void)!write(mconsole, note.data(), note.size());
    close(mconsole);
  }
  const std::string boot_id = FirstLine(ReadSmallFile("/proc/sys/kernel/random/boot_id"));
  Agent agent(0, 1, children, OpenSshListeners());
  agent.Send("A ready " + boot_id + " " + LoopsPerJiffy() + "\n");
  agent.Run();
  return 0;
}
