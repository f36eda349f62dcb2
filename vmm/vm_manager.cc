#include "vmm/vm_manager.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "vmm/addressing.h"
#include "vmm/agent_protocol.h"
#include "vmm/config_disk.h"
#include "vmm/host_probe.h"
#include "vmm/mconsole_client.h"
#include "vmm/uml_command_line.h"

extern char** environ;

namespace clownix::vmm {
namespace {

constexpr uint64_t kWakeToken = 0;
constexpr size_t kHistoryBytes = 64 * 1024;
// Where the spawned linux.uml finds its lines: pty masters (used by UML) and slaves (only held).
constexpr int kConsoleMasterFd = 3;
constexpr int kConsoleSlaveFd = 4;
constexpr int kAgentMasterFd = 5;
constexpr int kAgentSlaveFd = 6;
#ifndef P_PIDFD
constexpr idtype_t P_PIDFD = static_cast<idtype_t>(3);
#endif

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", strerror(err));
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOENT:
      return absl::NotFoundError(message);
    default:
      return absl::InternalError(message);
  }
}

std::string ReadFileOr(const std::string& path, std::string fallback) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fallback;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes all of `data` to a non-blocking fd, waiting for room until `deadline`.
absl::Status WriteAll(int fd, absl::string_view data, absl::Time deadline) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return absl::UnavailableError(strerror(errno));
    int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (wait_ms <= 0) return absl::DeadlineExceededError("line is not draining");
    pollfd p = {fd, POLLOUT, 0};
    poll(&p, 1, wait_ms);
  }
  return absl::OkStatus();
}

// The pids of every process in process group `pgid`.
std::vector<pid_t> GroupMembers(pid_t pgid) {
  std::vector<pid_t> members;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (absl::SimpleAtoi(entry.path().filename().string(), &pid) && getpgid(pid) == pgid) {
      members.push_back(pid);
    }
  }
  return members;
}

// SIGKILLs process group `pgid` and waits (on pidfds, up to `timeout`) until every member has
// exited, so that "ended" means no process of the VM runs any more.
void KillGroupAndWait(pid_t pgid, absl::Duration timeout) {
  kill(-pgid, SIGKILL);
  std::vector<pollfd> fds;
  for (pid_t pid : GroupMembers(pgid)) {
    int fd = PidfdOpen(pid);
    if (fd >= 0) fds.push_back({fd, POLLIN, 0});
  }
  const absl::Time deadline = absl::Now() + timeout;
  size_t done = 0;
  while (done < fds.size()) {
    int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (wait_ms <= 0 || poll(fds.data(), fds.size(), wait_ms) <= 0) break;
    done = 0;
    for (pollfd& p : fds) {
      if (p.revents & POLLIN) p.events = 0;  // Exited: stop watching it.
      if (p.events == 0) ++done;
    }
  }
  for (const pollfd& p : fds) close(p.fd);
}

// UML silently leaves out a NIC whose control socket is missing (uml-facts 13): refuse instead.
absl::Status CheckCtlSocket(const NicSpec& nic) {
  struct stat st;
  if (stat(nic.ctl_path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "eth%d: no LAN control socket at %s (is the switch running?)", nic.index, nic.ctl_path));
  }
  return absl::OkStatus();
}

// Opens a pty slave for clownix's side of a line: raw, non-blocking.
int OpenPtySlave(const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  termios t;
  if (tcgetattr(fd, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(fd, TCSANOW, &t);
  }
  return fd;
}

// A pty whose master goes to UML (con0=fd:N / ssl1=fd:N) together with one slave fd that UML
// merely keeps open: the slave then never sees its last close, so neither side hangs up when
// clownixd exits, and a restarted clownixd reopens the slave by path.
struct Pty {
  int master = -1;
  int slave = -1;
  std::string path;
  ~Pty() {
    if (master >= 0) close(master);
    if (slave >= 0) close(slave);
  }
};

absl::Status OpenPty(Pty* pty) {
  // High, close-on-exec fd numbers, so that the spawn's dup2 onto 3..6 cannot clobber them.
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return ErrnoStatus(errno, "posix_openpt");
  pty->master = fcntl(m, F_DUPFD_CLOEXEC, 100);
  close(m);
  char name[64];
  if (pty->master < 0 || grantpt(pty->master) != 0 || unlockpt(pty->master) != 0 ||
      ptsname_r(pty->master, name, sizeof(name)) != 0) {
    return ErrnoStatus(errno, "pty");
  }
  pty->path = name;
  int s = OpenPtySlave(pty->path);
  if (s < 0) return ErrnoStatus(errno, pty->path);
  pty->slave = fcntl(s, F_DUPFD_CLOEXEC, 100);
  close(s);
  if (pty->slave < 0) return ErrnoStatus(errno, "dup");
  return absl::OkStatus();
}

std::string DescribeSignal(int sig) {
  const char* d = strsignal(sig);
  return absl::StrFormat("killed by signal %d (%s)", sig, d ? d : "?");
}

// The spec file of a VM (vms/NAME/spec), read back by Adopt: name, number, mem, the NICs it has
// now (nic=) and those of its kernel command line (bootnic=). False when it cannot be written.
bool WriteSpecFile(const std::string& path, const VmSpec& spec,
                   const std::vector<NicSpec>& boot_nics) {
  std::ofstream out(path, std::ios::trunc);
  out << "name=" << spec.name << "\nnumber=" << spec.number << "\nmem=" << spec.mem_mib << "\n";
  for (const NicSpec& nic : spec.nics) out << "nic=" << nic.index << " " << nic.ctl_path << "\n";
  for (const NicSpec& nic : boot_nics) {
    out << "bootnic=" << nic.index << " " << nic.ctl_path << "\n";
  }
  return static_cast<bool>(out.flush());
}

}  // namespace

const char* VmStateName(VmState state) {
  switch (state) {
    case VmState::kBooting:
      return "BOOTING";
    case VmState::kRunning:
      return "RUNNING";
    case VmState::kStopped:
      return "STOPPED";
    case VmState::kCrashed:
      return "CRASHED";
  }
  return "?";
}

struct VmManager::Fd {
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  const int fd;
};

struct VmManager::Vm {
  struct Pending {
    bool done = false;
    absl::Status error;
    AgentProtocol::Reply reply;
  };

  VmSpec spec;
  // The NICs of the kernel command line: what the VM has again after a reboot, which re-execs
  // the kernel with that command line and forgets NICs plugged or unplugged since.
  std::vector<NicSpec> boot_nics;
  VmState state = VmState::kBooting;
  int pid = 0;
  bool child = false;
  bool adopted = false;
  bool stop_requested = false;
  std::unique_ptr<Fd> pidfd;
  uint64_t pid_token = 0;
  std::unique_ptr<Fd> notify;  // This VM's mconsole notify socket, vms/NAME/notify.sock.
  uint64_t notify_token = 0;
  std::string panic;  // Message of a kernel panic notification.
  std::shared_ptr<Fd> console;
  uint64_t console_token = 0;
  std::string console_pts;
  std::unique_ptr<Fd> console_log;
  std::string history;
  std::map<int64_t, std::shared_ptr<ConsoleCallback>> subscribers;
  std::shared_ptr<Fd> agent;
  uint64_t agent_token = 0;
  std::string agent_pts;
  std::string agent_buffer;
  std::string ping_id;
  std::map<std::string, std::shared_ptr<Pending>> pending;
  // Serializes writers of one line (agent or console) so requests never interleave.
  std::shared_ptr<absl::Mutex> write_mu = std::make_shared<absl::Mutex>();
};

VmManager::VmManager(VmManagerOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<VmManager>> VmManager::Create(VmManagerOptions options) {
  namespace fs = std::filesystem;
  if (options.work_dir.empty()) return absl::InvalidArgumentError("work dir is empty");
  if (absl::Status s = Addressing::ValidateAdminPrefix(options.admin_prefix); !s.ok()) return s;
  if (absl::Status s = ConfigDisk::Validate({"probe", "10.0.0.1", options.rsa_public_key});
      !s.ok()) {
    return s;
  }
  for (auto [what, path] : {std::pair{"kernel", &options.kernel}, {"root_fs", &options.root_fs}}) {
    struct stat st;
    if (path->empty() || stat(path->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::NotFoundError(absl::StrFormat("%s \"%s\" is not a file", what, *path));
    }
    *path = fs::absolute(*path).lexically_normal().string();
  }
  if (access(options.kernel.c_str(), X_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("kernel ", options.kernel, " is not executable"));
  }
  if (options.root_fs_mode && access(options.root_fs.c_str(), W_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("root_fs mode writes into ", options.root_fs, ", which is not writable"));
  }
  std::error_code ec;
  fs::create_directories(options.work_dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create work dir ", options.work_dir, ": ", ec.message()));
  }
  if (access(options.work_dir.c_str(), W_OK | X_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("work dir ", options.work_dir, " is not writable"));
  }
  options.work_dir = fs::absolute(options.work_dir).lexically_normal().string();
  while (options.work_dir.size() > 1 && options.work_dir.back() == '/') {
    options.work_dir.pop_back();
  }

  std::string preload;
  bool want = options.xstate_fix == XstateFix::kAlways;
  if (options.xstate_fix == XstateFix::kAuto) {
    absl::StatusOr<bool> needed = HostProbe::NeedsXstateFix();
    if (!needed.ok()) return needed.status();
    want = *needed;
  }
  if (want) {
    struct stat st;
    if (options.xstate_fix_library.empty() || stat(options.xstate_fix_library.c_str(), &st) != 0) {
      return absl::NotFoundError(absl::StrCat("this host needs the XSTATE shim but \"",
                                              options.xstate_fix_library, "\" is missing"));
    }
    preload = fs::absolute(options.xstate_fix_library).lexically_normal().string();
  }

  std::unique_ptr<VmManager> manager(new VmManager(std::move(options)));
  manager->preload_ = preload;
  if (absl::Status s = manager->Init(); !s.ok()) return s;
  return manager;
}

absl::Status VmManager::Init() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(options_.work_dir + "/uml", ec);
  if (!ec) fs::create_directories(options_.work_dir + "/vms", ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("work dir: ", ec.message()));

  std::string lock_path = options_.work_dir + "/vmm.lock";
  lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return ErrnoStatus(errno, lock_path);
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("work dir ", options_.work_dir, " is in use by another VmManager"));
  }

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) return ErrnoStatus(errno, "epoll/eventfd");
  epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);

  int64_t lpj = 0;
  if (absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOr(options_.work_dir + "/lpj", "")),
                       &lpj) &&
      lpj > 0) {
    lpj_ = lpj;
  }
  absl::BitGen gen;
  request_prefix_ = absl::StrFormat("%08x.", absl::Uniform<uint32_t>(gen));
  loop_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

VmManager::~VmManager() {
  stopping_ = true;
  if (loop_.joinable()) {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    loop_.join();
  }
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, vm] : vms_) {
      for (auto& [id, pending] : vm->pending) {
        pending->done = true;
        pending->error = absl::CancelledError("VmManager destroyed");
      }
    }
    vms_.clear();
    changed_.SignalAll();
  }
  for (int fd : {epoll_fd_, wake_fd_, lock_fd_}) {
    if (fd >= 0) close(fd);
  }
}

std::string VmManager::VmDir(absl::string_view name) const {
  return absl::StrCat(options_.work_dir, "/vms/", name);
}
std::string VmManager::UmlDir(absl::string_view name) const {
  return absl::StrCat(options_.work_dir, "/uml/", name);
}

absl::Status VmManager::Register(int fd, const std::string& name, Kind kind, uint64_t* token) {
  *token = next_token_++;
  epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = *token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return ErrnoStatus(errno, "epoll_ctl");
  tokens_[*token] = {name, kind};
  return absl::OkStatus();
}

void VmManager::Unregister(uint64_t token) { tokens_.erase(token); }

void VmManager::Loop() {
  epoll_event events[64];
  while (!stopping_) {
    int n = epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      abort();  // epoll on our own fd cannot fail otherwise.
    }
    std::vector<VmEvent> state_events;
    std::vector<std::pair<std::vector<ConsoleCallback>, std::string>> console_out;
    for (int i = 0; i < n && !stopping_; ++i) {
      const uint64_t token = events[i].data.u64;
      if (token == kWakeToken) {
        uint64_t v;
        (void)!read(wake_fd_, &v, sizeof(v));
        continue;
      }
      absl::MutexLock lock(&mu_);
      auto it = tokens_.find(token);
      if (it == tokens_.end()) continue;  // Closed earlier in this batch.
      const auto [name, kind] = it->second;
      switch (kind) {
        case Kind::kPidfd:
          HandlePidfd(name, &state_events);
          break;
        case Kind::kConsole:
          HandleConsole(name, events[i].events, &console_out);
          break;
        case Kind::kAgent:
          HandleAgent(name, events[i].events, &state_events);
          break;
        case Kind::kNotify:
          HandleNotify(name, &state_events);
          break;
      }
    }
    for (auto& [callbacks, bytes] : console_out) {
      for (auto& cb : callbacks) cb(bytes);
    }
    Deliver(state_events);
  }
}

void VmManager::Deliver(const std::vector<VmEvent>& events) {
  if (!options_.on_state_change) return;
  for (const VmEvent& e : events) options_.on_state_change(e);
}

void VmManager::HandleNotify(const std::string& name, std::vector<VmEvent>* events) {
  Vm& vm = *vms_.at(name);
  for (;;) {
    char buffer[sizeof(mconsole_wire::Notify) + 16];
    ssize_t n = recv(vm.notify->fd, buffer, sizeof(buffer), 0);
    if (n < 0) return;  // EAGAIN: drained.
    absl::StatusOr<MconsoleClient::Notification> note =
        MconsoleClient::DecodeNotify(absl::string_view(buffer, n));
    if (!note.ok()) continue;  // Ignore junk.
    switch (note->type) {
      case mconsole_wire::kNotifySocket:
        // The kernel (re)started: after a reboot from inside the guest the agent must answer
        // again before the VM is RUNNING.
        if (vm.state == VmState::kRunning) {
          vm.state = VmState::kBooting;
          ForgetHotplugLocked(name, vm);
          DetachAgentLocked(vm, absl::UnavailableError(absl::StrCat("vm ", name, " rebooted")));
          events->push_back({name, VmState::kBooting, "rebooting"});
          changed_.SignalAll();
        }
        break;
      case mconsole_wire::kNotifyPanic:
        vm.panic = note->data;  // UML aborts right after; the pidfd reports the death.
        break;
      case mconsole_wire::kNotifyUser:
        if (absl::StartsWith(note->data, "agent-ready")) {
          // The agent (re)started: (re)attach and ping it.
          AttachConsoleLocked(name, vm);
          AttachAgentLocked(name, vm);
        }
        break;
      case mconsole_wire::kNotifyHang:
        break;
    }
  }
}

absl::StatusOr<std::unique_ptr<VmManager::Fd>> VmManager::BindNotify(const std::string& name) {
  const std::string path = VmDir(name) + "/notify.sock";
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("path too long for a unix socket: ", path));
  }
  memcpy(addr.sun_path, path.data(), path.size());
  auto fd = std::make_unique<Fd>(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  unlink(path.c_str());
  if (fd->fd < 0 || bind(fd->fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(errno, path);
  }
  return fd;
}

void VmManager::AttachConsole(const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(name);
  if (it != vms_.end()) AttachConsoleLocked(name, *it->second);
}

void VmManager::AttachAgent(const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(name);
  if (it != vms_.end()) AttachAgentLocked(name, *it->second);
}

void VmManager::AttachConsoleLocked(const std::string& name, Vm& vm) {
  if (vm.console || vm.console_pts.empty()) return;
  int fd = OpenPtySlave(vm.console_pts);
  if (fd < 0) return;
  vm.console = std::make_shared<Fd>(fd);
  if (!vm.console_log) {
    int log = open((VmDir(name) + "/console.log").c_str(),
                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log >= 0) vm.console_log = std::make_unique<Fd>(log);
  }
  if (!Register(fd, name, Kind::kConsole, &vm.console_token).ok()) vm.console.reset();
}

void VmManager::AttachAgentLocked(const std::string& name, Vm& vm) {
  if (!vm.agent) {
    if (vm.agent_pts.empty()) return;
    int fd = OpenPtySlave(vm.agent_pts);
    if (fd < 0) return;
    vm.agent = std::make_shared<Fd>(fd);
    vm.agent_buffer.clear();
    if (!Register(fd, name, Kind::kAgent, &vm.agent_token).ok()) {
      vm.agent.reset();
      return;
    }
  }
  vm.ping_id = absl::StrCat(request_prefix_, next_request_++);
  // A newline first: ends any partial line a previous client left in the guest's reader.
  std::string ping = "\n" + *AgentProtocol::EncodePing(vm.ping_id);
  (void)!write(vm.agent->fd, ping.data(), ping.size());
}

void VmManager::DetachAgentLocked(Vm& vm, const absl::Status& why) {
  if (vm.agent_token != 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, vm.agent->fd, nullptr);
    Unregister(vm.agent_token);
  }
  vm.agent_token = 0;
  vm.agent.reset();
  vm.agent_buffer.clear();
  for (auto& [id, pending] : vm.pending) {
    pending->done = true;
    pending->error = why;
  }
  vm.pending.clear();
  changed_.SignalAll();
}

void VmManager::DetachConsoleLocked(Vm& vm) {
  if (vm.console_token != 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, vm.console->fd, nullptr);
    Unregister(vm.console_token);
  }
  vm.console_token = 0;
  vm.console.reset();
}

void VmManager::HandleConsole(
    const std::string& name, uint32_t epoll_events,
    std::vector<std::pair<std::vector<ConsoleCallback>, std::string>>* out) {
  Vm& vm = *vms_.at(name);
  char buffer[16384];
  std::string got;
  bool closed = false;
  for (;;) {
    ssize_t n = read(vm.console->fd, buffer, sizeof(buffer));
    if (n > 0) {
      got.append(buffer, n);
      if (got.size() > 256 * 1024) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    closed = !(n < 0 && errno == EAGAIN);  // 0 or EIO: the VM's side went away.
    break;
  }
  if (!got.empty()) {
    if (vm.console_log) (void)!write(vm.console_log->fd, got.data(), got.size());
    vm.history += got;
    if (vm.history.size() > kHistoryBytes) {
      vm.history.erase(0, vm.history.size() - kHistoryBytes);
    }
    std::vector<ConsoleCallback> callbacks;
    for (auto& [id, cb] : vm.subscribers) callbacks.push_back(*cb);
    if (!callbacks.empty()) out->emplace_back(std::move(callbacks), std::move(got));
  }
  if (closed || (got.empty() && (epoll_events & (EPOLLHUP | EPOLLERR)))) DetachConsoleLocked(vm);
}

void VmManager::HandleAgent(const std::string& name, uint32_t epoll_events,
                            std::vector<VmEvent>* events) {
  Vm& vm = *vms_.at(name);
  char buffer[16384];
  bool closed = false;
  bool got = false;
  for (;;) {
    ssize_t n = read(vm.agent->fd, buffer, sizeof(buffer));
    if (n > 0) {
      got = true;
      vm.agent_buffer.append(buffer, n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    closed = !(n < 0 && errno == EAGAIN);
    break;
  }
  size_t start = 0;
  for (size_t nl; (nl = vm.agent_buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
    absl::StatusOr<AgentProtocol::Reply> reply =
        AgentProtocol::ParseReply(absl::string_view(vm.agent_buffer).substr(start, nl - start));
    if (!reply.ok()) continue;  // Noise on the line.
    if (reply->kind == AgentProtocol::Reply::kReady && reply->lpj > 0 && lpj_.load() == 0) {
      lpj_ = reply->lpj;
      std::ofstream(options_.work_dir + "/lpj") << reply->lpj << "\n";
    }
    if (reply->kind == AgentProtocol::Reply::kPong && reply->id == vm.ping_id &&
        vm.state == VmState::kBooting) {
      vm.state = VmState::kRunning;
      events->push_back({name, VmState::kRunning, "agent answered"});
    } else if (reply->kind == AgentProtocol::Reply::kExec) {
      auto it = vm.pending.find(reply->id);
      if (it != vm.pending.end()) {
        it->second->done = true;
        it->second->reply = std::move(*reply);
        vm.pending.erase(it);
      }
    }
    changed_.SignalAll();
  }
  vm.agent_buffer.erase(0, start);
  if (vm.agent_buffer.size() > 4 * AgentProtocol::kMaxOutputCap) vm.agent_buffer.clear();
  if (closed || (!got && (epoll_events & (EPOLLHUP | EPOLLERR)))) {
    DetachAgentLocked(vm,
                      absl::UnavailableError(absl::StrCat("agent line of vm ", name, " closed")));
  }
}

void VmManager::HandlePidfd(const std::string& name, std::vector<VmEvent>* events) {
  auto it = vms_.find(name);
  Vm& vm = *it->second;
  // The whole group first: UML's helpers and the host processes of guest processes outlive a
  // dead main pid. The (unreaped) main pid keeps the group id from being reused meanwhile.
  KillGroupAndWait(vm.pid, absl::Seconds(2));
  VmEvent event{name, VmState::kCrashed, ""};
  siginfo_t info = {};
  if (vm.child && waitid(P_PIDFD, static_cast<id_t>(vm.pidfd->fd), &info, WEXITED | WNOHANG) == 0 &&
      info.si_pid != 0) {
    if (info.si_code == CLD_EXITED) {
      event.reason = absl::StrCat("exited with status ", info.si_status);
      if (info.si_status == 0) event.state = VmState::kStopped;
    } else {
      event.reason = DescribeSignal(info.si_status);
    }
  } else if (vm.child) {
    // Readable pidfd but not yet reapable cannot happen for an exited child; reap blocking.
    waitid(P_PIDFD, static_cast<id_t>(vm.pidfd->fd), &info, WEXITED);
    event.reason = "exited";
  } else {
    event.reason = "exited (adopted VM: status not available)";
  }
  if (!vm.panic.empty()) {
    event.state = VmState::kCrashed;
    event.reason = absl::StrCat("kernel panic: ", vm.panic, "; ", event.reason);
  } else if (vm.stop_requested) {
    event.state = VmState::kStopped;
    event.reason = absl::StrCat("stopped by clownix; ", event.reason);
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, vm.pidfd->fd, nullptr);
  Unregister(vm.pid_token);
  if (vm.notify) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, vm.notify->fd, nullptr);
    Unregister(vm.notify_token);
  }
  DetachAgentLocked(vm,
                    absl::UnavailableError(absl::StrCat("vm ", name, " ended: ", event.reason)));
  DetachConsoleLocked(vm);
  vms_.erase(it);
  RemoveFiles(name, /*keep_logs=*/true).IgnoreError();
  last_exit_[name] = event;
  events->push_back(event);
  changed_.SignalAll();
}

absl::Status VmManager::RemoveFiles(const std::string& name, bool keep_logs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove_all(UmlDir(name), ec);
  std::string dir = VmDir(name);
  if (!keep_logs) {
    fs::remove_all(dir, ec);
    return absl::OkStatus();
  }
  // Seed: what a VM imported is destroyed when it stops (its COW); logs stay for post-mortems.
  for (const char* file : {"/cow", "/config.img", "/spec", "/notify.sock"}) {
    fs::remove(dir + file, ec);
  }
  return absl::OkStatus();
}

absl::Status VmManager::Start(const VmSpec& spec) {
  namespace fs = std::filesystem;
  if (absl::Status s = Addressing::ValidateName(spec.name); !s.ok()) return s;
  absl::StatusOr<std::string> admin_ip = Addressing::AdminIp(options_.admin_prefix, spec.number);
  if (!admin_ip.ok()) return admin_ip.status();
  if (spec.nics.size() > static_cast<size_t>(Addressing::kMaxNics)) {
    return absl::InvalidArgumentError(absl::StrFormat("vm %s: %d NICs, UML VMs have at most %d",
                                                      spec.name, spec.nics.size(),
                                                      Addressing::kMaxNics));
  }
  UmlCommandLine::Params params;
  params.kernel = options_.kernel;
  params.mem_mib = spec.mem_mib;
  params.uml_dir = options_.work_dir + "/uml";
  params.umid = spec.name;
  params.cow_path = options_.root_fs_mode ? "" : VmDir(spec.name) + "/cow";
  params.root_fs = options_.root_fs;
  params.config_disk = VmDir(spec.name) + "/config.img";
  params.notify_socket = VmDir(spec.name) + "/notify.sock";
  params.console_fd = kConsoleMasterFd;
  params.agent_fd = kAgentMasterFd;
  params.lpj = lpj_.load();
  for (const NicSpec& nic : spec.nics) {
    absl::StatusOr<std::string> mac = Addressing::Mac(spec.number, nic.index);
    if (!mac.ok()) return mac.status();
    params.nics.push_back({nic.index, *mac, nic.ctl_path});
  }
  absl::StatusOr<std::vector<std::string>> argv = UmlCommandLine::Build(params);
  if (!argv.ok()) return argv.status();
  for (const NicSpec& nic : spec.nics) {
    if (absl::Status s = CheckCtlSocket(nic); !s.ok()) return s;
  }

  {
    absl::MutexLock lock(&mu_);
    if (vms_.count(spec.name)) {
      return absl::AlreadyExistsError(absl::StrCat("vm ", spec.name, " already exists"));
    }
    for (const auto& [other, vm] : vms_) {
      if (vm->spec.number == spec.number) {
        return absl::AlreadyExistsError(
            absl::StrFormat("vm number %d is already used by vm %s", spec.number, other));
      }
    }
    if (options_.root_fs_mode && !vms_.empty()) {
      return absl::FailedPreconditionError("root_fs mode runs one VM at most, and one is running");
    }
    auto vm = std::make_unique<Vm>();
    vm->spec = spec;
    vm->boot_nics = spec.nics;
    vms_[spec.name] = std::move(vm);  // Reserves the name; removed again on failure.
    last_exit_.erase(spec.name);
  }
  auto fail = [&](absl::Status status, pid_t pid) {
    if (pid > 0) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    absl::MutexLock lock(&mu_);
    vms_.erase(spec.name);
    RemoveFiles(spec.name, /*keep_logs=*/false).IgnoreError();
    changed_.SignalAll();
    return status;
  };

  // A VM of this name running without us (umid reuse would silently pick a random umid).
  std::string pid_text = ReadFileOr(UmlDir(spec.name) + "/pid", "");
  int old_pid = 0;
  if (absl::SimpleAtoi(absl::StripAsciiWhitespace(pid_text), &old_pid) && old_pid > 0 &&
      kill(old_pid, 0) == 0 &&
      absl::StrContains(ReadFileOr(absl::StrCat("/proc/", old_pid, "/cmdline"), ""),
                        absl::StrCat("umid=", spec.name))) {
    absl::MutexLock lock(&mu_);
    vms_.erase(spec.name);
    return absl::AlreadyExistsError(absl::StrFormat(
        "vm %s is running (pid %d) but not managed here: Adopt() it", spec.name, old_pid));
  }
  std::error_code ec;
  fs::remove_all(UmlDir(spec.name), ec);
  fs::remove_all(VmDir(spec.name), ec);
  fs::create_directories(VmDir(spec.name), ec);
  if (ec)
    return fail(absl::PermissionDeniedError(absl::StrCat(VmDir(spec.name), ": ", ec.message())), 0);
  if (absl::Status s =
          ConfigDisk::Build({spec.name, *admin_ip, options_.rsa_public_key}, params.config_disk);
      !s.ok()) {
    return fail(s, 0);
  }
  if (!WriteSpecFile(VmDir(spec.name) + "/spec", spec, spec.nics)) {
    return fail(absl::InternalError("cannot write the vm's spec file"), 0);
  }

  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "LD_PRELOAD=")) env.emplace_back(*e);
  }
  if (!preload_.empty()) env.push_back("LD_PRELOAD=" + preload_);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (const std::string& a : *argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  absl::StatusOr<std::unique_ptr<Fd>> notify = BindNotify(spec.name);
  if (!notify.ok()) return fail(notify.status(), 0);
  Pty console_pty;
  Pty agent_pty;
  if (absl::Status s = OpenPty(&console_pty); !s.ok()) return fail(s, 0);
  if (absl::Status s = OpenPty(&agent_pty); !s.ok()) return fail(s, 0);
  std::string log = VmDir(spec.name) + "/uml.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_adddup2(&actions, console_pty.master, kConsoleMasterFd);
  posix_spawn_file_actions_adddup2(&actions, console_pty.slave, kConsoleSlaveFd);
  posix_spawn_file_actions_adddup2(&actions, agent_pty.master, kAgentMasterFd);
  posix_spawn_file_actions_adddup2(&actions, agent_pty.slave, kAgentSlaveFd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return fail(ErrnoStatus(rc, absl::StrCat("spawn ", options_.kernel)), 0);
  int pidfd = PidfdOpen(pid);
  if (pidfd < 0) return fail(ErrnoStatus(errno, "pidfd_open"), pid);
  absl::Status registered;
  {
    absl::MutexLock lock(&mu_);
    Vm& vm = *vms_.at(spec.name);
    vm.pid = pid;
    vm.child = true;
    vm.console_pts = console_pty.path;
    vm.agent_pts = agent_pty.path;
    vm.pidfd = std::make_unique<Fd>(pidfd);
    vm.notify = std::move(*notify);
    registered = Register(vm.notify->fd, spec.name, Kind::kNotify, &vm.notify_token);
    if (registered.ok()) registered = Register(pidfd, spec.name, Kind::kPidfd, &vm.pid_token);
    if (!registered.ok()) {
      vm.pidfd.reset();
      vm.notify.reset();
    }
    changed_.SignalAll();
  }
  if (!registered.ok()) return fail(registered, pid);
  // BOOTING is delivered before the agent is pinged, so it always precedes RUNNING.
  Deliver({{spec.name, VmState::kBooting, "started"}});
  AttachConsole(spec.name);
  AttachAgent(spec.name);  // The ping waits in the line until the agent reads it.
  return absl::OkStatus();
}

absl::Status VmManager::WaitGone(absl::string_view name, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (vms_.count(name)) {
    if (changed_.WaitWithDeadline(&mu_, deadline)) {
      if (!vms_.count(name)) break;
      return absl::DeadlineExceededError(absl::StrCat("vm ", name, " did not end in time"));
    }
  }
  return absl::OkStatus();
}

absl::Status VmManager::Kill(absl::string_view name) {
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return absl::NotFoundError(absl::StrCat("vm ", name, " does not exist"));
    if (it->second->pid <= 0) {
      return absl::UnavailableError(absl::StrCat("vm ", name, " is still being created"));
    }
    it->second->stop_requested = true;
    kill(-it->second->pid, SIGKILL);
    kill(it->second->pid, SIGKILL);  // In case it has not made itself a group leader yet.
  }
  return WaitGone(name, absl::Seconds(10));
}

absl::Status VmManager::Halt(absl::string_view name, absl::Duration deadline) {
  std::shared_ptr<Fd> agent;
  std::shared_ptr<absl::Mutex> write_mu;
  std::string poweroff;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return absl::NotFoundError(absl::StrCat("vm ", name, " does not exist"));
    Vm& vm = *it->second;
    vm.stop_requested = true;
    if (vm.state == VmState::kRunning && vm.agent) {
      agent = vm.agent;
      write_mu = vm.write_mu;
      poweroff = *AgentProtocol::EncodeExec(absl::StrCat(request_prefix_, next_request_++),
                                            "poweroff", 5, 0);
    }
  }
  const absl::Time end = absl::Now() + deadline;
  // Clean first: the guest's init runs its shutdown actions (unmounts, so a root_fs-mode disk
  // is consistent) and powers off. Nobody waits for the reply: the agent dies with the guest.
  if (agent) {
    absl::MutexLock lock(write_mu.get());
    WriteAll(agent->fd, poweroff, absl::Now() + absl::Seconds(1)).IgnoreError();
  }
  if (agent && WaitGone(name, deadline / 2).ok()) return absl::OkStatus();
  // Then the kernel's own halt, then SIGKILL of the whole group.
  MconsoleClient::Send(UmlDir(name) + "/mconsole", "halt", std::min(deadline, absl::Seconds(3)))
      .IgnoreError();  // Whatever it says, the deadline and SIGKILL follow.
  if (WaitGone(name, end - absl::Now()).ok()) return absl::OkStatus();
  absl::Status killed = Kill(name);
  return killed.code() == absl::StatusCode::kNotFound ? absl::OkStatus() : killed;
}

absl::Status VmManager::Reboot(absl::string_view name) {
  {
    absl::MutexLock lock(&mu_);
    if (!vms_.count(name)) return absl::NotFoundError(absl::StrCat("vm ", name, " does not exist"));
  }
  absl::StatusOr<std::string> reply =
      MconsoleClient::Send(UmlDir(name) + "/mconsole", "reboot", absl::Seconds(5));
  if (!reply.ok()) return reply.status();
  std::vector<VmEvent> events;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return absl::OkStatus();
    Vm& vm = *it->second;
    if (vm.state != VmState::kBooting) {
      vm.state = VmState::kBooting;
      events.push_back({std::string(name), VmState::kBooting, "rebooting"});
    }
    ForgetHotplugLocked(std::string(name), vm);
    DetachAgentLocked(vm, absl::UnavailableError(absl::StrCat("vm ", name, " rebooted")));
    changed_.SignalAll();
  }
  Deliver(events);
  return absl::OkStatus();
}

absl::StatusOr<ExecResult> VmManager::Exec(absl::string_view name, absl::string_view command,
                                           absl::Duration timeout, size_t output_cap) {
  const int guest_timeout_s =
      std::max<int>(1, static_cast<int>(std::ceil(absl::ToDoubleSeconds(timeout))));
  std::shared_ptr<Vm::Pending> pending;
  std::shared_ptr<Fd> agent;
  std::shared_ptr<absl::Mutex> write_mu;
  std::string request;
  std::string id;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return absl::NotFoundError(absl::StrCat("vm ", name, " does not exist"));
    Vm& vm = *it->second;
    if (vm.state != VmState::kRunning || !vm.agent) {
      return absl::FailedPreconditionError(
          absl::StrFormat("vm %s is %s, its agent is not ready", name, VmStateName(vm.state)));
    }
    id = absl::StrCat(request_prefix_, next_request_++);
    absl::StatusOr<std::string> encoded =
        AgentProtocol::EncodeExec(id, command, guest_timeout_s, output_cap);
    if (!encoded.ok()) return encoded.status();
    request = std::move(*encoded);
    pending = std::make_shared<Vm::Pending>();
    vm.pending[id] = pending;
    agent = vm.agent;
    write_mu = vm.write_mu;
  }
  // The guest enforces the timeout; this is the margin for a wedged agent or line.
  const absl::Time deadline = absl::Now() + absl::Seconds(guest_timeout_s) + absl::Seconds(10);
  absl::Status written;
  {
    absl::MutexLock lock(write_mu.get());
    written = WriteAll(agent->fd, request, deadline);
  }
  absl::MutexLock lock(&mu_);
  if (!written.ok() && !pending->done) {
    auto it = vms_.find(name);
    if (it != vms_.end()) it->second->pending.erase(id);
    return absl::UnavailableError(absl::StrCat("vm ", name, ": agent line: ", written.message()));
  }
  while (!pending->done) {
    if (changed_.WaitWithDeadline(&mu_, deadline) && !pending->done) {
      auto it = vms_.find(name);
      if (it != vms_.end()) it->second->pending.erase(id);
      return absl::DeadlineExceededError(
          absl::StrFormat("vm %s: the agent did not answer within %d s (its own timeout was %d s)",
                          name, guest_timeout_s + 10, guest_timeout_s));
    }
  }
  if (!pending->error.ok()) return pending->error;
  if (pending->reply.timed_out) {
    return absl::DeadlineExceededError(absl::StrFormat(
        "vm %s: command timed out after %d s and was killed", name, guest_timeout_s));
  }
  ExecResult result;
  result.exit_code = pending->reply.exit_code;
  result.output = std::move(pending->reply.output);
  result.total_output_bytes = pending->reply.total_output_bytes;
  return result;
}

absl::StatusOr<ExecResult> VmManager::ExecArgv(absl::string_view name,
                                               const std::vector<std::string>& argv,
                                               absl::Duration timeout, size_t output_cap) {
  absl::StatusOr<std::string> command = AgentProtocol::QuoteArgv(argv);
  if (!command.ok()) return command.status();
  return Exec(name, *command, timeout, output_cap);
}

absl::Status VmManager::AttachNic(absl::string_view name, const NicSpec& nic) {
  int number = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return absl::NotFoundError(absl::StrCat("vm ", name, " does not exist"));
    number = it->second->spec.number;
  }
  absl::StatusOr<std::string> mac = Addressing::Mac(number, nic.index);
  if (!mac.ok()) return mac.status();
  absl::StatusOr<std::string> value = UmlCommandLine::NicValue({nic.index, *mac, nic.ctl_path});
  if (!value.ok()) return value.status();
  if (absl::Status s = CheckCtlSocket(nic); !s.ok()) return s;
  const std::string check = absl::StrFormat("test -e /sys/class/net/eth%d", nic.index);
  absl::StatusOr<ExecResult> present = Exec(name, check, absl::Seconds(10));
  if (!present.ok()) return present.status();
  if (present->exit_code == 0) {
    return absl::AlreadyExistsError(absl::StrFormat("vm %s already has eth%d", name, nic.index));
  }
  absl::StatusOr<std::string> reply = MconsoleClient::Send(
      UmlDir(name) + "/mconsole", absl::StrFormat("config eth%d=%s", nic.index, *value));
  if (!reply.ok()) return reply.status();
  present = Exec(name, check, absl::Seconds(10));
  if (!present.ok()) return present.status();
  if (present->exit_code != 0) {
    return absl::UnavailableError(absl::StrFormat(
        "vm %s: UML accepted eth%d but no interface appeared (is anything listening on %s?)", name,
        nic.index, nic.ctl_path));
  }
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(name);
  if (it != vms_.end()) {
    it->second->spec.nics.push_back(nic);
    (void)WriteSpecFile(VmDir(name) + "/spec", it->second->spec, it->second->boot_nics);
  }
  return absl::OkStatus();
}

void VmManager::ForgetHotplugLocked(const std::string& name, Vm& vm) {
  vm.spec.nics = vm.boot_nics;
  (void)WriteSpecFile(VmDir(name) + "/spec", vm.spec, vm.boot_nics);
}

absl::Status VmManager::DetachNic(absl::string_view name, int index) {
  if (index < 0 || index >= Addressing::kMaxNics) {
    return absl::InvalidArgumentError(absl::StrFormat("eth%d does not exist on UML VMs", index));
  }
  absl::StatusOr<ExecResult> down = Exec(
      name, absl::StrFormat("test -e /sys/class/net/eth%d && ip link set eth%d down", index, index),
      absl::Seconds(10));
  if (!down.ok()) return down.status();
  if (down->exit_code != 0) {
    return absl::NotFoundError(absl::StrFormat("vm %s has no eth%d", name, index));
  }
  absl::StatusOr<std::string> reply =
      MconsoleClient::Send(UmlDir(name) + "/mconsole", absl::StrFormat("remove eth%d", index));
  if (!reply.ok()) return reply.status();
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(name);
  if (it != vms_.end()) {
    auto& nics = it->second->spec.nics;
    nics.erase(std::remove_if(nics.begin(), nics.end(),
                              [&](const NicSpec& n) { return n.index == index; }),
               nics.end());
    (void)WriteSpecFile(VmDir(name) + "/spec", it->second->spec, it->second->boot_nics);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> VmManager::SubscribeConsole(absl::string_view name,
                                                    ConsoleCallback on_output) {
  std::string history;
  int64_t id;
  auto callback = std::make_shared<ConsoleCallback>(std::move(on_output));
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return absl::NotFoundError(absl::StrCat("vm ", name, " does not exist"));
    id = next_subscription_++;
    it->second->subscribers[id] = callback;
    subscriptions_[id] = std::string(name);
    history = it->second->history;
  }
  if (!history.empty()) (*callback)(history);
  return id;
}

void VmManager::UnsubscribeConsole(int64_t subscription) {
  absl::MutexLock lock(&mu_);
  auto it = subscriptions_.find(subscription);
  if (it == subscriptions_.end()) return;
  auto vm = vms_.find(it->second);
  if (vm != vms_.end()) vm->second->subscribers.erase(subscription);
  subscriptions_.erase(it);
}

absl::Status VmManager::WriteConsole(absl::string_view name, absl::string_view bytes) {
  std::shared_ptr<Fd> console;
  std::shared_ptr<absl::Mutex> write_mu;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return absl::NotFoundError(absl::StrCat("vm ", name, " does not exist"));
    if (!it->second->console) {
      return absl::UnavailableError(absl::StrCat("vm ", name, ": console not attached"));
    }
    console = it->second->console;
    write_mu = it->second->write_mu;
  }
  absl::MutexLock lock(write_mu.get());
  return WriteAll(console->fd, bytes, absl::Now() + absl::Seconds(5));
}

absl::StatusOr<std::vector<std::string>> VmManager::Adopt() {
  namespace fs = std::filesystem;
  std::vector<std::string> adopted;
  std::vector<VmEvent> events;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(options_.work_dir + "/uml", ec)) {
    std::string name = entry.path().filename().string();
    if (!Addressing::ValidateName(name).ok()) continue;
    {
      absl::MutexLock lock(&mu_);
      if (vms_.count(name)) continue;
    }
    if (AdoptOne(name, &events).ok()) adopted.push_back(name);
  }
  if (ec) return ErrnoStatus(ec.value(), options_.work_dir + "/uml");
  Deliver(events);
  for (const std::string& name : adopted) {
    AttachConsole(name);
    AttachAgent(name);
  }
  return adopted;
}

absl::Status VmManager::AdoptOne(const std::string& name, std::vector<VmEvent>* events) {
  auto stale = [&](absl::string_view why) {
    absl::MutexLock lock(&mu_);
    if (!vms_.count(name)) RemoveFiles(name, /*keep_logs=*/true).IgnoreError();
    return absl::NotFoundError(absl::StrCat("vm ", name, ": ", why));
  };
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOr(UmlDir(name) + "/pid", "")), &pid) ||
      pid <= 1) {
    return stale("no pid file");
  }
  int pidfd = PidfdOpen(pid);
  if (pidfd < 0) return stale("process gone");
  auto holder = std::make_unique<Fd>(pidfd);
  // Opened the pidfd first, then check the identity: a reused pid fails the check.
  std::string cmdline = ReadFileOr(absl::StrCat("/proc/", pid, "/cmdline"), "");
  std::vector<std::string> args = absl::StrSplit(cmdline, '\0');
  bool has_umid = false;
  bool has_dir = false;
  for (const std::string& a : args) {
    has_umid |= a == "umid=" + name;
    has_dir |= a == "uml_dir=" + options_.work_dir + "/uml";
  }
  if (!has_umid || !has_dir) return stale(absl::StrCat("pid ", pid, " is not this vm"));

  VmSpec spec;
  std::vector<NicSpec> boot_nics;
  spec.name = name;
  for (absl::string_view line :
       absl::StrSplit(ReadFileOr(VmDir(name) + "/spec", ""), '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == "number") {
      (void)absl::SimpleAtoi(kv.second, &spec.number);
    } else if (kv.first == "mem") {
      (void)absl::SimpleAtoi(kv.second, &spec.mem_mib);
    } else if (kv.first == "nic" || kv.first == "bootnic") {
      std::pair<std::string, std::string> nic = absl::StrSplit(kv.second, absl::MaxSplits(' ', 1));
      NicSpec n;
      if (absl::SimpleAtoi(nic.first, &n.index)) {
        n.ctl_path = nic.second;
        (kv.first == "nic" ? spec.nics : boot_nics).push_back(n);
      }
    }
  }
  bool old_spec_file = boot_nics.empty();  // written before boot NICs were recorded
  if (old_spec_file) boot_nics = spec.nics;
  auto slave_path = [&](int fd) {
    std::error_code ec;
    std::string p = std::filesystem::read_symlink(absl::StrCat("/proc/", pid, "/fd/", fd), ec);
    return !ec && absl::StartsWith(p, "/dev/pts/") ? p : std::string();
  };
  std::string console_pts = slave_path(kConsoleSlaveFd);
  std::string agent_pts = slave_path(kAgentSlaveFd);
  // UML sends notifications by path: binding it again is all it takes.
  absl::StatusOr<std::unique_ptr<Fd>> notify = BindNotify(name);
  if (!notify.ok()) return notify.status();
  absl::MutexLock lock(&mu_);
  if (vms_.count(name)) return absl::AlreadyExistsError(name);
  auto vm = std::make_unique<Vm>();
  vm->spec = spec;
  vm->boot_nics = boot_nics;
  vm->pid = pid;
  vm->adopted = true;
  vm->console_pts = console_pts;
  vm->agent_pts = agent_pts;
  vm->pidfd = std::move(holder);
  vm->notify = std::move(*notify);
  if (absl::Status s = Register(vm->notify->fd, name, Kind::kNotify, &vm->notify_token); !s.ok()) {
    return s;
  }
  if (absl::Status s = Register(vm->pidfd->fd, name, Kind::kPidfd, &vm->pid_token); !s.ok()) {
    Unregister(vm->notify_token);
    return s;
  }
  vms_[name] = std::move(vm);
  events->push_back({name, VmState::kBooting, "adopted"});
  changed_.SignalAll();
  return absl::OkStatus();
}

absl::StatusOr<std::string> VmManager::KernelVersion(absl::string_view name) const {
  {
    absl::MutexLock lock(&mu_);
    if (!vms_.count(name)) return absl::NotFoundError(absl::StrCat("vm ", name, " does not exist"));
  }
  return MconsoleClient::Send(UmlDir(name) + "/mconsole", "version", absl::Seconds(5));
}

absl::StatusOr<VmInfo> VmManager::Get(absl::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(name);
  if (it == vms_.end()) return absl::NotFoundError(absl::StrCat("vm ", name, " does not exist"));
  const Vm& vm = *it->second;
  VmInfo info;
  info.spec = vm.spec;
  info.state = vm.state;
  info.pid = vm.pid;
  info.adopted = vm.adopted;
  info.admin_ip = Addressing::AdminIp(options_.admin_prefix, vm.spec.number).value_or("");
  info.console_log = VmDir(name) + "/console.log";
  return info;
}

std::vector<VmInfo> VmManager::List() const {
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, vm] : vms_) names.push_back(name);
  }
  std::vector<VmInfo> out;
  for (const std::string& name : names) {
    absl::StatusOr<VmInfo> info = Get(name);
    if (info.ok()) out.push_back(std::move(*info));
  }
  return out;
}

absl::StatusOr<VmEvent> VmManager::LastExit(absl::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = last_exit_.find(name);
  if (it == last_exit_.end())
    return absl::NotFoundError(absl::StrCat("vm ", name, " has not ended"));
  return it->second;
}

absl::Status VmManager::WaitForState(absl::string_view name, VmState state,
                                     absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const bool final_state = state == VmState::kStopped || state == VmState::kCrashed;
  absl::MutexLock lock(&mu_);
  for (;;) {
    auto it = vms_.find(name);
    if (it != vms_.end()) {
      if (!final_state && it->second->state == state) return absl::OkStatus();
    } else {
      auto last = last_exit_.find(name);
      if (last != last_exit_.end()) {
        if (last->second.state == state) return absl::OkStatus();
        return absl::FailedPreconditionError(absl::StrFormat(
            "vm %s ended %s: %s", name, VmStateName(last->second.state), last->second.reason));
      }
      if (!final_state) return absl::NotFoundError(absl::StrCat("vm ", name, " does not exist"));
    }
    if (changed_.WaitWithDeadline(&mu_, deadline)) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "vm %s not %s after %s", name, VmStateName(state), absl::FormatDuration(timeout)));
    }
  }
}

}  // namespace clownix::vmm
