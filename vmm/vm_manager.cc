#include "vmm/vm_manager.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_io.h"
#include "common/guest_config.h"
#include "common/seed_rules.h"
#include "common/subprocess.h"
#include "vmm/agent_channel.h"
#include "vmm/agent_protocol.h"
#include "vmm/config_disk.h"
#include "vmm/console_line.h"
#include "vmm/host_probe.h"
#include "vmm/mconsole_client.h"
#include "vmm/nic_hotplug.h"
#include "vmm/process_group.h"
#include "vmm/pty.h"
#include "vmm/spec_file.h"
#include "vmm/uml_command_line.h"
#include "vmm/vm_exit.h"

namespace clownix::vmm {
namespace {

constexpr uint64_t kWakeToken = 0;

absl::Status NoSuchVm(absl::string_view name) {
  return absl::NotFoundError(absl::StrCat("vm ", name, " does not exist"));
}

// The same status with "vm NAME: " before its message.
absl::Status ForVm(absl::string_view name, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("vm ", name, ": ", status.message()));
}

// The path of the pty slave a VM's process holds as descriptor `fd`, "" if it holds none.
std::string HeldPtySlave(pid_t pid, int fd) {
  std::error_code ec;
  std::string path = std::filesystem::read_symlink(absl::StrCat("/proc/", pid, "/fd/", fd), ec);
  return !ec && absl::StartsWith(path, "/dev/pts/") ? path : std::string();
}

// The pid in a VM's pid file (uml/NAME/pid, written by UML); 0 when there is none.
pid_t ReadPidFile(const std::string& path) {
  absl::StatusOr<std::string> text = common::ReadFileIfExists(path, 64);
  int pid = 0;
  if (!text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 1) {
    return 0;
  }
  return pid;
}

// The NUL-separated command line of process `pid`, "" if it is gone.
std::string ReadCmdline(pid_t pid) {
  return common::ReadFileIfExists(absl::StrCat("/proc/", pid, "/cmdline")).value_or("");
}

// How long the startup script may run (resources.proto, GuestConfig.startup).
constexpr int kStartupTimeoutSeconds = 600;

// What the guest agent answered for the startup report.
StartupResult StartupResultOf(absl::StatusOr<AgentProtocol::Reply> reply) {
  if (!reply.ok()) {
    return {false, 0, absl::StrCat("no startup report: ", reply.status().message())};
  }
  if (reply->timed_out) {
    return {false, 0,
            absl::StrCat("the startup script ran longer than ", kStartupTimeoutSeconds,
                         " s and was killed\n", reply->output)};
  }
  absl::StatusOr<ConfigDisk::StartupReport> parsed = ConfigDisk::ParseStartupReport(reply->output);
  if (!parsed.ok()) return {false, 0, std::string(parsed.status().message())};
  return {parsed->setup_ok && parsed->exit_code == 0, parsed->exit_code, std::move(parsed->output)};
}

}  // namespace

// Every field is guarded by VmManager::mu_ (a Vm is reached only through vms_); the annotation
// cannot name another class's member, so the analysis does not check it.
struct VmManager::Vm {
  // What it is.
  VmSpec spec;
  std::vector<NicSpec> boot_nics;  // SpecFile::Contents::boot_nics.
  VmState state = VmState::kBooting;
  bool hidden = false;  // Holds the name while a stale VM's files are removed; not listed.

  // Its process.
  pid_t pid = 0;       // 0 while Start creates it.
  bool child = false;  // Launched by this manager: its exit status can be reaped.
  bool adopted = false;
  bool stop_requested = false;
  std::string abandoned;  // Why Adopt could not take it over and killed it.
  bool ending = false;    // Its death is being handled: its files go, none is written.
  std::string panic;      // Message of a kernel panic notification.

  // What the event loop watches, each with its epoll token (0: not registered).
  common::UniqueFd pidfd;
  uint64_t pid_token = 0;
  std::shared_ptr<common::UniqueFd> notify;  // vms/NAME/notify.sock.
  uint64_t notify_token = 0;
  std::shared_ptr<ConsoleLine> console;  // For the VM's whole life; its line comes and goes.
  uint64_t console_token = 0;
  std::string console_pts;
  std::shared_ptr<AgentChannel> agent;  // One per attachment of the line.
  uint64_t agent_token = 0;
  std::string agent_pts;

  // Serializes the spec file's writes, each of the VM as it is when the write takes it.
  std::shared_ptr<absl::Mutex> spec_write_mu = std::make_shared<absl::Mutex>();
};

VmManager::VmManager(VmManagerOptions options, std::string preload,
                     std::unique_ptr<VmConfinement> confinement)
    : options_(std::move(options)),
      preload_(std::move(preload)),
      confinement_(std::move(confinement)) {}

absl::StatusOr<std::unique_ptr<VmManager>> VmManager::Create(VmManagerOptions options) {
  namespace fs = std::filesystem;
  if (options.work_dir.empty()) return absl::InvalidArgumentError("work dir is empty");
  if (absl::Status s = common::ValidateAdminPrefix(options.admin_prefix); !s.ok()) return s;
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

  // The files the VMs use may be staged where their users can read them (vm_confinement.h).
  absl::StatusOr<std::unique_ptr<VmConfinement>> confinement = VmConfinement::Create(
      options.confinement,
      {options.work_dir, options.kernel, options.root_fs, preload, options.root_fs_mode});
  if (!confinement.ok()) return confinement.status();
  options.kernel = (*confinement)->files().kernel;
  options.root_fs = (*confinement)->files().root_fs;
  preload = (*confinement)->files().preload;

  std::unique_ptr<VmManager> manager(
      new VmManager(std::move(options), std::move(preload), std::move(*confinement)));
  if (absl::Status s = manager->Init(); !s.ok()) return s;
  return manager;
}

absl::Status VmManager::Init() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(options_.work_dir + "/uml", ec);
  if (!ec) fs::create_directories(options_.work_dir + "/vms", ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("work dir: ", ec.message()));

  const std::string lock_path = options_.work_dir + "/vmm.lock";
  lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", lock_path));
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("work dir ", options_.work_dir, " is in use by another VmManager"));
  }

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return absl::ErrnoToStatus(errno, "eventfd");
  epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    return absl::ErrnoToStatus(errno, "epoll_ctl");
  }

  // lpj only saves calibration time at boot: an unreadable file means calibrating once more.
  absl::StatusOr<std::string> lpj_text = common::ReadFileIfExists(options_.work_dir + "/lpj", 64);
  int64_t lpj = 0;
  if (lpj_text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*lpj_text), &lpj) && lpj > 0) {
    lpj_ = lpj;
  }
  launcher_ = options_.launcher ? options_.launcher : UmlLauncher::Real();
  absl::BitGen gen;
  request_prefix_ = absl::StrFormat("%08x.", absl::Uniform<uint32_t>(gen));
  loop_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

VmManager::~VmManager() {
  stopping_ = true;
  if (loop_.joinable()) {
    uint64_t one = 1;
    // An eventfd write fails only on counter overflow, and then the loop is awake anyway.
    ssize_t woken = write(wake_fd_, &one, sizeof(one));
    (void)woken;
    loop_.join();
  }
  std::vector<std::shared_ptr<AgentChannel>> agents;
  std::vector<std::shared_ptr<ConsoleLine>> consoles;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, vm] : vms_) {
      if (vm->agent) agents.push_back(vm->agent);
      consoles.push_back(vm->console);
    }
    vms_.clear();
    subscriptions_.clear();
    changed_.SignalAll();
  }
  for (auto& agent : agents) agent->Close(absl::CancelledError("VmManager destroyed"));
  for (auto& console : consoles) console->Close();
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

std::string VmManager::NewRequestId() {
  return absl::StrCat(request_prefix_, next_request_.fetch_add(1));
}

absl::Status VmManager::Register(int fd, const std::string& name, Kind kind, uint64_t* token) {
  const uint64_t t = next_token_++;
  epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = t;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return absl::ErrnoToStatus(errno, "epoll_ctl");
  }
  tokens_[t] = {name, kind};
  *token = t;
  return absl::OkStatus();
}

void VmManager::Unregister(int fd, uint64_t* token) {
  if (*token == 0) return;
  // Fails only if `fd` is not in the epoll set, which its token says it is. Events already
  // fetched for the token find it gone from tokens_ and are skipped.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  tokens_.erase(*token);
  *token = 0;
}

void VmManager::Deliver(const std::vector<VmEvent>& events) {
  if (!options_.on_state_change) return;
  for (const VmEvent& e : events) options_.on_state_change(e);
}

// ---------------------------------------------------------------------------------------------
// The event loop.

void VmManager::Loop() {
  epoll_event events[64];
  while (!stopping_) {
    int n = epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      abort();  // epoll on our own descriptor cannot fail otherwise.
    }
    for (int i = 0; i < n && !stopping_; ++i) {
      const uint64_t token = events[i].data.u64;
      if (token == kWakeToken) {
        uint64_t value;
        ssize_t drained = read(wake_fd_, &value, sizeof(value));
        (void)drained;  // EAGAIN: drained already; the wake-up has done its job either way.
        continue;
      }
      Watch watch;
      {
        absl::MutexLock lock(&mu_);
        auto it = tokens_.find(token);
        if (it == tokens_.end()) continue;  // Unregistered earlier in this batch.
        watch = it->second;
      }
      const bool hangup = (events[i].events & (EPOLLHUP | EPOLLERR)) != 0;
      switch (watch.kind) {
        case Kind::kPidfd:
          HandleDeath(watch.name, token);
          break;
        case Kind::kConsole:
          HandleConsole(watch.name, token, hangup);
          break;
        case Kind::kAgent:
          HandleAgent(watch.name, token, hangup);
          break;
        case Kind::kNotify:
          HandleNotify(watch.name, token);
          break;
      }
    }
  }
}

void VmManager::HandleDeath(const std::string& name, uint64_t token) {
  pid_t pid = 0;
  bool child = false;
  std::shared_ptr<absl::Mutex> spec_write_mu;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->pid_token != token) return;
    Vm& vm = *it->second;
    vm.ending = true;
    Unregister(vm.pidfd.get(), &vm.pid_token);  // Readable until closed: once is enough.
    pid = vm.pid;
    child = vm.child;
    spec_write_mu = vm.spec_write_mu;
  }
  // The whole group first: UML's helpers and the host processes of guest processes outlive a
  // dead main pid. The (unreaped) main pid keeps the group id from being reused meanwhile.
  ExitFacts facts;
  std::vector<std::string> cleanup_errors;
  if (absl::Status s = ProcessGroup::KillAndWait(pid, absl::Seconds(2)); !s.ok()) {
    cleanup_errors.emplace_back(s.message());
  }
  if (child) {
    // The pidfd is readable: the child has exited and this returns at once.
    absl::StatusOr<int> status = common::WaitForChild(pid);
    if (status.ok()) facts.wait_status = *status;  // Otherwise the reason says it is unknown.
  }
  // Read before RemoveFiles takes the cgroup away. Without cgroups (or unreadable) it stays 0:
  // the reason then says "killed by signal 9" only, as it would without this check.
  if (absl::StatusOr<CgroupLimits::Usage> usage = confinement_->Usage(name); usage.ok()) {
    facts.oom_kills = usage->oom_kills;
  }
  {
    // After any spec write in progress; `ending` keeps later ones from writing.
    absl::MutexLock write_lock(spec_write_mu.get());
    if (absl::Status s = RemoveFiles(name, /*keep_logs=*/true); !s.ok()) {
      cleanup_errors.emplace_back(s.message());
    }
  }
  facts.cleanup_error = absl::StrJoin(cleanup_errors, "; ");

  std::shared_ptr<AgentChannel> agent;
  std::shared_ptr<ConsoleLine> console;
  VmEvent event;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return;  // Only this thread removes a VM whose pid is watched.
    Vm& vm = *it->second;
    facts.adopted = vm.adopted;
    facts.panic = vm.panic;
    facts.stop_requested = vm.stop_requested;
    facts.abandoned = vm.abandoned;
    const ExitVerdict verdict = ClassifyExit(facts);
    event = {name, verdict.state, verdict.reason};
    if (vm.notify) Unregister(vm.notify->get(), &vm.notify_token);
    agent = DetachAgentLocked(vm);
    console = vm.console;
    Unregister(console->fd(), &vm.console_token);
    for (auto sub = subscriptions_.begin(); sub != subscriptions_.end();) {
      sub = sub->second == console ? subscriptions_.erase(sub) : std::next(sub);
    }
    vms_.erase(it);
    last_exit_[name] = event;
    ++undelivered_ends_[name];
  }
  if (agent) agent->Close(absl::UnavailableError(absl::StrCat("ended: ", event.reason)));
  console->Close();
  Deliver({event});
  absl::MutexLock lock(&mu_);
  if (--undelivered_ends_[name] == 0) undelivered_ends_.erase(name);
  changed_.SignalAll();
}

void VmManager::HandleNotify(const std::string& name, uint64_t token) {
  std::shared_ptr<common::UniqueFd> notify;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->notify_token != token) return;
    notify = it->second->notify;
  }
  std::vector<MconsoleClient::Notification> notes;
  // At most 64 per wake-up, so that a guest writing /proc/mconsole without pause cannot hold the
  // loop: the socket stays readable and epoll (level-triggered) calls again after the others.
  for (int read = 0; read < 64; ++read) {
    char buffer[sizeof(mconsole_wire::Notify) + 16];
    // EAGAIN: drained. A bound datagram socket reports no other error worth acting on.
    ssize_t n = recv(notify->get(), buffer, sizeof(buffer), 0);
    if (n < 0) break;
    absl::StatusOr<MconsoleClient::Notification> note =
        MconsoleClient::DecodeNotify(absl::string_view(buffer, static_cast<size_t>(n)));
    if (note.ok()) notes.push_back(std::move(*note));  // Anything else is junk.
  }

  std::vector<VmEvent> events;
  std::shared_ptr<AgentChannel> rebooted_agent;
  bool rebooted = false;
  bool agent_ready = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->notify_token != token) return;
    Vm& vm = *it->second;
    for (const MconsoleClient::Notification& note : notes) {
      switch (note.type) {
        case mconsole_wire::kNotifySocket:
          // The kernel (re)started: after a reboot from inside the guest the agent must answer
          // again before the VM is RUNNING.
          if (vm.state == VmState::kRunning) {
            vm.state = VmState::kBooting;
            vm.spec.nics = vm.boot_nics;
            std::shared_ptr<AgentChannel> agent = DetachAgentLocked(vm);
            if (agent) rebooted_agent = agent;
            rebooted = true;
            events.push_back({name, VmState::kBooting, "rebooting"});
            changed_.SignalAll();
          }
          break;
        case mconsole_wire::kNotifyPanic:
          vm.panic = note.data;  // UML aborts right after; the pidfd reports the death.
          break;
        case mconsole_wire::kNotifyUser:
          // The agent (re)started: (re)attach and ping it.
          if (absl::StartsWith(note.data, "agent-ready")) agent_ready = true;
          break;
        case mconsole_wire::kNotifyHang:
          break;
      }
    }
  }
  if (rebooted_agent) rebooted_agent->Close(absl::UnavailableError("rebooted"));
  if (rebooted) {
    // Nobody waits for this reboot: the spec file's failure goes into the event's reason.
    if (absl::Status s = WriteSpec(name); !s.ok()) {
      for (VmEvent& e : events) {
        absl::StrAppend(&e.reason, "; the spec file could not be updated: ", s.message());
      }
    }
  }
  Deliver(events);
  if (agent_ready) {
    AttachConsole(name);
    AttachAgent(name);
  }
}

void VmManager::HandleConsole(const std::string& name, uint64_t token, bool hangup) {
  std::shared_ptr<ConsoleLine> console;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->console_token != token) return;
    console = it->second->console;
  }
  if (!console->OnReadable(hangup)) return;
  // The VM's side hung up; the next agent-ready attaches the line again.
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->console_token != token) return;
    Unregister(console->fd(), &it->second->console_token);
  }
  console->Detach();
}

void VmManager::HandleAgent(const std::string& name, uint64_t token, bool hangup) {
  std::shared_ptr<AgentChannel> agent;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->agent_token != token) return;
    agent = it->second->agent;
  }
  const AgentChannel::ReadResult read = agent->OnReadable(hangup);
  if (read.ready_lpj > 0 && lpj_.load() == 0) {
    lpj_ = read.ready_lpj;
    // Only saves the next boots' calibration (~0.6 s each): if the write fails they calibrate,
    // and the next manager tries again.
    common::WriteFileDurably(options_.work_dir + "/lpj", absl::StrCat(read.ready_lpj, "\n"), 0644)
        .IgnoreError();
  }
  std::vector<VmEvent> events;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->agent != agent) return;
    Vm& vm = *it->second;
    if (read.ping_answered && vm.state == VmState::kBooting) {
      vm.state = VmState::kRunning;
      events.push_back({name, VmState::kRunning, "agent answered"});
      changed_.SignalAll();
    }
    // UML holds the line's master for its whole life (reboots included), so a hang-up means its
    // process is ending, and it may be seen before the pidfd says so. The line only leaves the
    // event loop: the death closes the channel and fails the calls still waiting with its reason.
    // New requests fail at once (writing to a hung-up line fails).
    if (read.closed) Unregister(agent->fd(), &vm.agent_token);
  }
  Deliver(events);
  if (!events.empty()) CollectStartup(name, agent);
}

void VmManager::CollectStartup(const std::string& name,
                               const std::shared_ptr<AgentChannel>& agent) {
  bool nothing_to_report = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return;  // Ended meanwhile: its end is what counts.
    // Asking costs an exec (a few forks under UML) at every boot. An adopted VM's guest config
    // is not known here (the spec file does not keep it): it is asked.
    nothing_to_report =
        !it->second->adopted && !ConfigDisk::HasStartupReport(it->second->spec.guest);
  }
  if (nothing_to_report) {
    Deliver({{name, VmState::kRunning, "startup finished", StartupResult{true, 0, ""}}});
    return;
  }
  const std::string id = NewRequestId();
  absl::StatusOr<std::string> command = AgentProtocol::QuoteArgv(ConfigDisk::StartupRunArgv());
  absl::StatusOr<std::string> request =
      command.ok() ? AgentProtocol::EncodeExec(id, *command, kStartupTimeoutSeconds, 8192)
                   : command.status();
  // A fixed argv and fixed limits: an error here is a bug, reported as the startup's outcome.
  auto report = [this, name](StartupResult result) {
    VmEvent event{name, VmState::kRunning, "startup finished", std::move(result)};
    Deliver({event});
  };
  if (!request.ok()) {
    report({false, 0,
            absl::StrCat("clownix could not ask for the startup report: ",
                         request.status().message())});
    return;
  }
  // The callback holds no reference to the channel (which holds the callback). It runs on the
  // event loop's thread (OnReadable) or on the one that closes the channel, with no lock held.
  const AgentChannel* channel = agent.get();
  agent->CallAsync(id, *request, absl::Now() + absl::Seconds(5),
                   [this, name, channel, report](absl::StatusOr<AgentProtocol::Reply> reply) {
                     // The VM ended or rebooted (its next boot reports its own startup), or the
                     // manager or channel is going away: this boot has nothing left to report.
                     if (absl::IsUnavailable(reply.status()) || absl::IsCancelled(reply.status()))
                       return;
                     {
                       absl::MutexLock lock(&mu_);
                       auto it = vms_.find(name);
                       if (it == vms_.end() || it->second->agent.get() != channel) return;
                     }
                     report(StartupResultOf(std::move(reply)));
                   });
}

// ---------------------------------------------------------------------------------------------
// Lines and files of a VM.

void VmManager::AttachConsole(const std::string& name) {
  std::shared_ptr<ConsoleLine> console;
  std::string path;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->ending || it->second->console_token != 0) return;
    console = it->second->console;
    path = it->second->console_pts;
  }
  if (path.empty()) return;
  absl::StatusOr<common::UniqueFd> line = Pty::OpenRawSlave(path);
  // The VM's side is gone, or its kernel has not set the line up yet: the agent-ready
  // notification of its (re)boot attaches it. Meanwhile WriteConsole says it is not attached.
  if (!line.ok()) return;
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(name);
  if (it == vms_.end() || it->second->ending || it->second->console != console ||
      it->second->console_token != 0) {
    return;
  }
  const int fd = console->Attach(std::move(*line));
  if (fd < 0) return;  // Attached by another thread meanwhile.
  // epoll_ctl fails only when the kernel is out of memory or watches: the line stays detached
  // (WriteConsole says so) until the next agent-ready.
  if (!Register(fd, name, Kind::kConsole, &it->second->console_token).ok()) console->Detach();
}

void VmManager::AttachAgent(const std::string& name) {
  std::shared_ptr<AgentChannel> agent;
  std::shared_ptr<AgentChannel> hung_up;
  std::string path;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->ending) return;
    agent = it->second->agent;
    path = it->second->agent_pts;
    if (agent && it->second->agent_token == 0) {
      // Hung up, yet the VM announces an agent: the line is back, so the old channel goes.
      hung_up = DetachAgentLocked(*it->second);
      agent = nullptr;
    }
  }
  if (hung_up) hung_up->Close(absl::UnavailableError("agent line closed"));
  if (!agent) {
    if (path.empty()) return;
    absl::StatusOr<common::UniqueFd> line = Pty::OpenRawSlave(path);
    if (!line.ok()) return;  // As for the console: the next agent-ready tries again.
    auto fresh = std::make_shared<AgentChannel>(std::move(*line));
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->ending) return;
    if (it->second->agent) {
      agent = it->second->agent;  // Attached by another thread meanwhile.
    } else {
      // As for the console: without epoll the VM stays BOOTING until the next agent-ready.
      if (!Register(fresh->fd(), name, Kind::kAgent, &it->second->agent_token).ok()) return;
      it->second->agent = fresh;
      agent = fresh;
    }
  }
  // The ping waits in the line until the agent reads it. It is lost only if a request is being
  // written at this instant or the line is full, which happens only to a VM already RUNNING
  // (whose state a pong does not change) or being halted; a (re)booting VM's line is fresh.
  agent->Ping(NewRequestId()).IgnoreError();
}

std::shared_ptr<AgentChannel> VmManager::DetachAgentLocked(Vm& vm) {
  if (!vm.agent) return nullptr;
  Unregister(vm.agent->fd(), &vm.agent_token);
  return std::move(vm.agent);
}

absl::StatusOr<std::shared_ptr<common::UniqueFd>> VmManager::BindNotify(
    const std::string& name) const {
  const std::string path = VmDir(name) + "/notify.sock";
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("path too long for a unix socket: ", path));
  }
  memcpy(addr.sun_path, path.data(), path.size());
  auto fd = std::make_shared<common::UniqueFd>(
      socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd->valid()) return absl::ErrnoToStatus(errno, "socket");
  unlink(path.c_str());  // A stale socket of an earlier manager, if any; bind reports the rest.
  if (bind(fd->get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("bind ", path));
  }
  return fd;
}

absl::Status VmManager::WriteSpec(const std::string& name) {
  std::shared_ptr<absl::Mutex> write_mu;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return absl::OkStatus();
    write_mu = it->second->spec_write_mu;
  }
  absl::MutexLock write_lock(write_mu.get());
  SpecFile::Contents contents;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->ending) return absl::OkStatus();  // Its files are going.
    contents = {it->second->spec, it->second->boot_nics};
  }
  return SpecFile::Write(VmDir(name) + "/spec", contents);
}

absl::StatusOr<CgroupLimits::Usage> VmManager::HostUsage(absl::string_view name) const {
  {
    absl::MutexLock lock(&mu_);
    if (vms_.find(name) == vms_.end()) {
      return absl::NotFoundError(absl::StrCat("vm \"", name, "\" is not running"));
    }
  }
  return confinement_->Usage(std::string(name));
}

absl::Status VmManager::RemoveFiles(const std::string& name, bool keep_logs) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto failed = [&](const std::string& path) {
    return absl::ErrnoToStatus(ec.value(), absl::StrCat("remove ", path));
  };
  if (fs::remove_all(UmlDir(name), ec); ec) return failed(UmlDir(name));
  if (absl::Status s = confinement_->Release(name); !s.ok()) return s;
  const std::string dir = VmDir(name);
  if (!keep_logs) {
    if (fs::remove_all(dir, ec); ec) return failed(dir);
    return absl::OkStatus();
  }
  // Seed: what a VM imported is destroyed when it stops (its COW); logs stay for post-mortems.
  for (const char* file : {"/cow", "/config.img", "/spec", "/notify.sock"}) {
    if (fs::remove(dir + file, ec); ec) return failed(dir + file);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Lifecycle.

absl::StatusOr<std::string> VmManager::ImageOf(const VmSpec& spec) {
  if (spec.root_fs.empty()) return options_.root_fs;
  if (options_.root_fs_mode) {
    std::error_code ec;
    if (!std::filesystem::equivalent(spec.root_fs, options_.root_fs, ec)) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "vm %s: root_fs mode boots %s only, not %s", spec.name, options_.root_fs, spec.root_fs));
    }
    return options_.root_fs;
  }
  absl::StatusOr<std::string> reachable = confinement_->ReachableImage(spec.root_fs);
  if (!reachable.ok()) {
    return absl::Status(reachable.status().code(),
                        absl::StrCat("vm ", spec.name, ": ", reachable.status().message()));
  }
  return reachable;
}

absl::StatusOr<std::vector<std::string>> VmManager::CommandLine(const VmSpec& spec,
                                                                const std::string& root_fs) const {
  if (spec.nics.size() > static_cast<size_t>(common::kMaxNics)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "vm %s: %d NICs, VMs have at most %d", spec.name, spec.nics.size(), common::kMaxNics));
  }
  UmlCommandLine::Params params;
  params.kernel = options_.kernel;
  params.mem_mib = spec.mem_mib;
  params.uml_dir = options_.work_dir + "/uml";
  params.umid = spec.name;
  params.cow_path = options_.root_fs_mode ? "" : VmDir(spec.name) + "/cow";
  params.root_fs = root_fs;
  params.config_disk = VmDir(spec.name) + "/config.img";
  params.notify_socket = VmDir(spec.name) + "/notify.sock";
  params.hostfs_root = confinement_->hostfs_root();
  params.console_fd = kConsoleMasterFd;
  params.agent_fd = kAgentMasterFd;
  params.lpj = lpj_.load();
  for (const NicSpec& nic : spec.nics) {
    absl::StatusOr<std::string> mac = NicMac(spec, nic.index);
    if (!mac.ok()) return mac.status();
    params.nics.push_back({nic.index, *mac, nic.ctl_path});
  }
  return UmlCommandLine::Build(params);
}

absl::Status VmManager::Reserve(const VmSpec& spec) {
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
    vm->console = std::make_shared<ConsoleLine>(VmDir(spec.name) + "/console.log");
    vms_[spec.name] = std::move(vm);
    last_exit_.erase(spec.name);
  }
  // A VM of this name running without us (umid reuse would silently pick a random umid). Its
  // files are its own: the name is given back without touching them.
  const pid_t old_pid = ReadPidFile(UmlDir(spec.name) + "/pid");
  if (old_pid > 0 && kill(old_pid, 0) == 0 && confinement_->MayBeAVm(old_pid) &&
      absl::StrContains(ReadCmdline(old_pid), absl::StrCat("umid=", spec.name))) {
    absl::MutexLock lock(&mu_);
    vms_.erase(spec.name);
    changed_.SignalAll();
    return absl::AlreadyExistsError(absl::StrFormat(
        "vm %s is running (pid %d) but not managed here: Adopt() it", spec.name, old_pid));
  }
  return absl::OkStatus();
}

void VmManager::Unreserve(const std::string& name) {
  // The caller returns the error that brought it here; files a failed removal leaves behind are
  // removed by the next Start of this name, which clears both directories first.
  RemoveFiles(name, /*keep_logs=*/false).IgnoreError();
  absl::MutexLock lock(&mu_);
  vms_.erase(name);
  changed_.SignalAll();
}

absl::Status VmManager::Launch(const VmSpec& spec, const std::string& admin_ip,
                               const std::vector<std::string>& argv, const std::string& root_fs) {
  namespace fs = std::filesystem;
  const std::string dir = VmDir(spec.name);
  std::error_code ec;
  fs::remove_all(UmlDir(spec.name), ec);
  if (!ec) fs::remove_all(dir, ec);
  if (!ec) fs::create_directories(dir, ec);
  if (ec) return absl::ErrnoToStatus(ec.value(), dir);
  // Without the admin network eth0, when there is one, is a lab NIC: it gets no admin IP.
  const bool admin = spec.admin && std::any_of(spec.nics.begin(), spec.nics.end(),
                                               [](const NicSpec& nic) { return nic.index == 0; });
  ConfigDisk::Contents disk{spec.name, admin ? admin_ip : "", options_.rsa_public_key, spec.guest};
  disk.admin = admin;
  if (absl::Status s = ConfigDisk::Build(disk, dir + "/config.img"); !s.ok()) return s;
  if (absl::Status s = SpecFile::Write(dir + "/spec", {spec, spec.nics}); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("spec file: ", s.message()));
  }
  absl::StatusOr<std::shared_ptr<common::UniqueFd>> notify = BindNotify(spec.name);
  if (!notify.ok()) return notify.status();
  absl::StatusOr<VmConfinement::Prepared> confined =
      confinement_->Prepare(spec.name, spec.number, spec.mem_mib, root_fs, dir,
                            {dir + "/config.img", dir + "/notify.sock"});
  if (!confined.ok()) return confined.status();
  absl::StatusOr<Pty> console = Pty::Open();
  if (!console.ok()) return console.status();
  absl::StatusOr<Pty> agent = Pty::Open();
  if (!agent.ok()) return agent.status();

  UmlLauncher::Request request;
  request.argv = argv;
  request.preload = preload_;
  request.log_path = dir + "/uml.log";
  request.console_master = console->master();
  request.console_slave = console->slave();
  request.agent_master = agent->master();
  request.agent_slave = agent->slave();
  request.run_as = confined->run_as;
  if (confined->ruleset) request.landlock_ruleset_fd = confined->ruleset->fd();
  request.oom_score_adj = kVmOomScoreAdj;
  request.no_address_randomization = !options_.confinement.address_randomization;
  request.tmp_dir = confined->tmp_dir;
  request.join_cgroup_fds = confined->join_cgroup_fds;
  request.working_dir = dir;
  absl::StatusOr<UmlLauncher::Launched> launched = launcher_->Launch(request);
  if (!launched.ok()) return launched.status();

  absl::Status registered;
  {
    absl::MutexLock lock(&mu_);
    Vm& vm = *vms_.at(spec.name);
    vm.pid = launched->pid;
    vm.child = true;
    vm.console_pts = console->slave_path();
    vm.agent_pts = agent->slave_path();
    vm.notify = std::move(*notify);
    registered = Register(vm.notify->get(), spec.name, Kind::kNotify, &vm.notify_token);
    if (registered.ok()) {
      registered = Register(launched->pidfd.get(), spec.name, Kind::kPidfd, &vm.pid_token);
      if (registered.ok()) {
        vm.pidfd = std::move(launched->pidfd);
      } else {
        Unregister(vm.notify->get(), &vm.notify_token);
      }
    }
    if (!registered.ok()) vm.pid = 0;  // Not watched: this thread ends it below.
    changed_.SignalAll();
  }
  if (!registered.ok()) {
    // What is returned is the registration's error; the process is killed and reaped as far as
    // that goes (a member surviving SIGKILL for 2 s is beyond this Start's reach).
    ProcessGroup::KillAndWait(launched->pid, absl::Seconds(2)).IgnoreError();
    common::WaitForChild(launched->pid).IgnoreError();
    return registered;
  }
  return absl::OkStatus();
}

absl::Status VmManager::Start(const VmSpec& given) {
  if (absl::Status s = common::ValidateName("vm", given.name); !s.ok()) return s;
  VmSpec spec = given;
  if (!spec.root_fs.empty()) {
    if (spec.root_fs.front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("vm ", spec.name, ": image path ", spec.root_fs, " is not absolute"));
    }
    spec.root_fs = std::filesystem::path(spec.root_fs).lexically_normal().string();
  }
  absl::StatusOr<std::string> admin_ip = common::AdminIp(options_.admin_prefix, spec.number);
  if (!admin_ip.ok()) return admin_ip.status();
  absl::StatusOr<std::string> root_fs = ImageOf(spec);
  if (!root_fs.ok()) return root_fs.status();
  absl::StatusOr<std::vector<std::string>> argv = CommandLine(spec, *root_fs);
  if (!argv.ok()) return argv.status();
  for (const NicSpec& nic : spec.nics) {
    if (absl::Status s = NicHotplug::CheckLanSocket(nic); !s.ok()) return s;
  }
  if (absl::Status s = Reserve(spec); !s.ok()) return s;
  if (absl::Status s = Launch(spec, *admin_ip, *argv, *root_fs); !s.ok()) {
    Unreserve(spec.name);
    return s;
  }
  // BOOTING is delivered before the agent is pinged, so it always precedes RUNNING.
  Deliver({{spec.name, VmState::kBooting, "started"}});
  AttachConsole(spec.name);
  AttachAgent(spec.name);  // The ping waits in the line until the agent reads it.
  return absl::OkStatus();
}

absl::Status VmManager::WaitGone(absl::string_view name, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  // Gone once its end has been delivered too: whoever acts on the return (the reconciler starting
  // it again) finds the end in what on_state_change fed, not still on its way.
  auto gone = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !vms_.count(name) && !undelivered_ends_.count(name);
  };
  while (!gone()) {
    if (changed_.WaitWithDeadline(&mu_, deadline)) {
      if (gone()) break;
      return absl::DeadlineExceededError(absl::StrCat("vm ", name, " did not end in time"));
    }
  }
  return absl::OkStatus();
}

absl::Status VmManager::Kill(absl::string_view name) {
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->hidden) return NoSuchVm(name);
    Vm& vm = *it->second;
    if (vm.pid <= 0) {
      return absl::UnavailableError(absl::StrCat("vm ", name, " is still being created"));
    }
    vm.stop_requested = true;
    // The event loop kills the rest of the group once the main pid is dead. "No such process":
    // it is dying already. Signals are cheap: this lock does not wait on anything.
    if (kill(-vm.pid, SIGKILL) != 0 && errno != ESRCH) {
      return absl::ErrnoToStatus(errno, absl::StrCat("vm ", name, ": kill"));
    }
    // In case it has not made itself a group leader yet.
    if (kill(vm.pid, SIGKILL) != 0 && errno != ESRCH) {
      return absl::ErrnoToStatus(errno, absl::StrCat("vm ", name, ": kill"));
    }
  }
  return WaitGone(name, absl::Seconds(10));
}

absl::Status VmManager::Halt(absl::string_view name, absl::Duration deadline) {
  std::shared_ptr<AgentChannel> agent;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->hidden) return NoSuchVm(name);
    Vm& vm = *it->second;
    vm.stop_requested = true;
    if (vm.state == VmState::kRunning) agent = vm.agent;
  }
  const absl::Time end = absl::Now() + deadline;
  // Clean first: the VM's shutdown script, then the guest's init runs its shutdown actions
  // (unmounts, so a root_fs-mode disk is consistent) and powers off. That gets three quarters of
  // the deadline (the script that less 2 s for init's actions), the kernel's halt the rest.
  // Nobody waits for the reply: the agent dies with the guest.
  const absl::Duration clean = deadline * 3 / 4;
  if (agent) {
    absl::StatusOr<std::string> poweroff =
        AgentProtocol::EncodeExec(NewRequestId(), ConfigDisk::HaltCommand(clean - absl::Seconds(2)),
                                  static_cast<int>(absl::ToInt64Seconds(clean)) + 2, 0);
    // A poweroff that cannot be written leaves the halt and the SIGKILL below to end the VM.
    if (!poweroff.ok() || !agent->Send(*poweroff, absl::Now() + absl::Seconds(1)).ok()) {
      agent.reset();
    }
  }
  if (agent && WaitGone(name, clean).ok()) return absl::OkStatus();
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
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->hidden) return NoSuchVm(name);
  }
  // UML's reboot is a reset: what the guest wrote and its kernel still caches would be lost (a
  // `systemctl enable` a second before, say). Its file systems are synced first; a VM whose agent
  // does not answer (not running yet, hung) reboots all the same, as a reset.
  Exec(name, "sync", absl::Seconds(5)).IgnoreError();
  absl::StatusOr<std::string> reply =
      MconsoleClient::Send(UmlDir(name) + "/mconsole", "reboot", absl::Seconds(5));
  if (!reply.ok()) return reply.status();
  std::vector<VmEvent> events;
  std::shared_ptr<AgentChannel> agent;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return absl::OkStatus();  // It died meanwhile: the death says so.
    Vm& vm = *it->second;
    if (vm.state != VmState::kBooting) {
      vm.state = VmState::kBooting;
      events.push_back({std::string(name), VmState::kBooting, "rebooting"});
    }
    vm.spec.nics = vm.boot_nics;  // The kernel's command line again: hot-plugged NICs are gone.
    agent = DetachAgentLocked(vm);
    changed_.SignalAll();
  }
  if (agent) agent->Close(absl::UnavailableError("rebooted"));
  absl::Status written = WriteSpec(std::string(name));
  Deliver(events);
  if (!written.ok()) {
    return ForVm(
        name, absl::Status(written.code(), absl::StrCat("rebooted, but the spec file could not be "
                                                        "updated: ",
                                                        written.message())));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Talking to a VM.

absl::StatusOr<ExecResult> VmManager::Exec(absl::string_view name, absl::string_view command,
                                           absl::Duration timeout, size_t output_cap) {
  const int guest_timeout_s =
      std::max<int>(1, static_cast<int>(std::ceil(absl::ToDoubleSeconds(timeout))));
  std::shared_ptr<AgentChannel> agent;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->hidden) return NoSuchVm(name);
    const Vm& vm = *it->second;
    if (vm.state != VmState::kRunning || !vm.agent) {
      return absl::FailedPreconditionError(
          absl::StrFormat("vm %s is %s, its agent is not ready", name, VmStateName(vm.state)));
    }
    agent = vm.agent;
  }
  const std::string id = NewRequestId();
  absl::StatusOr<std::string> request =
      AgentProtocol::EncodeExec(id, command, guest_timeout_s, output_cap);
  if (!request.ok()) return request.status();
  // The guest enforces the timeout; this is the margin for a wedged agent or line.
  const absl::Time deadline = absl::Now() + absl::Seconds(guest_timeout_s) + absl::Seconds(10);
  absl::StatusOr<AgentProtocol::Reply> reply = agent->Call(id, *request, deadline);
  if (absl::IsDeadlineExceeded(reply.status())) {
    return absl::DeadlineExceededError(
        absl::StrFormat("vm %s: the agent did not answer within %d s (its own timeout was %d s)",
                        name, guest_timeout_s + 10, guest_timeout_s));
  }
  if (!reply.ok()) return ForVm(name, reply.status());
  if (reply->timed_out) {
    return absl::DeadlineExceededError(absl::StrFormat(
        "vm %s: command timed out after %d s and was killed", name, guest_timeout_s));
  }
  ExecResult result;
  result.exit_code = reply->exit_code;
  result.output = std::move(reply->output);
  // The guest is asked for output_cap bytes at most; one that sends more is not believed.
  if (output_cap > 0 && result.output.size() > output_cap) result.output.resize(output_cap);
  result.total_output_bytes = reply->total_output_bytes;
  return result;
}

absl::StatusOr<ExecResult> VmManager::ExecArgv(absl::string_view name,
                                               const std::vector<std::string>& argv,
                                               absl::Duration timeout, size_t output_cap) {
  absl::StatusOr<std::string> command = AgentProtocol::QuoteArgv(argv);
  if (!command.ok()) return command.status();
  return Exec(name, *command, timeout, output_cap);
}

absl::Status VmManager::AttachNic(absl::string_view name, const NicSpec& nic,
                                  const std::vector<std::string>& addresses) {
  for (const std::string& cidr : addresses) {
    if (absl::Status s = common::ValidateCidr("address", cidr); !s.ok()) return s;
  }
  absl::StatusOr<std::string> mac;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->hidden) return NoSuchVm(name);
    mac = NicMac(it->second->spec, nic.index);
  }
  if (!mac.ok()) return ForVm(name, mac.status());
  const std::string mconsole = UmlDir(name) + "/mconsole";
  auto run = [&](const std::string& command) { return Exec(name, command, absl::Seconds(10)); };
  if (absl::Status s = NicHotplug::Plug(name, *mac, nic, mconsole, run); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return NoSuchVm(name);  // It ended meanwhile, NIC and all.
    it->second->spec.nics.push_back(nic);
  }
  absl::Status written = WriteSpec(std::string(name));
  if (written.ok()) return SetAddresses(name, nic.index, addresses);
  // A NIC its spec file does not list would be forgotten by a restarted clownixd: undo.
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it != vms_.end()) {
      std::vector<NicSpec>& nics = it->second->spec.nics;
      nics.erase(std::remove(nics.begin(), nics.end(), nic), nics.end());
    }
  }
  absl::Status removed = NicHotplug::Remove(nic.index, mconsole);
  return ForVm(name, absl::Status(written.code(),
                                  absl::StrCat("eth", nic.index, " not plugged: the spec file ",
                                               "could not be updated: ", written.message(),
                                               removed.ok() ? "" : "; unplugging it again failed: ",
                                               removed.message())));
}

absl::Status VmManager::SetAddresses(absl::string_view name, int index,
                                     const std::vector<std::string>& addresses) {
  if (addresses.empty()) return absl::OkStatus();
  const std::string dev = absl::StrCat("eth", index);
  std::string command = absl::StrCat("ip link set dev ", dev, " up");
  for (const std::string& cidr : addresses) {
    // Checked by AttachNic: digits, dots, colons, hex letters and one slash; quoted all the same.
    absl::StatusOr<std::string> word = AgentProtocol::QuoteArgv({cidr});
    if (!word.ok()) return word.status();
    absl::StrAppend(&command, " && ip addr add ", *word, " dev ", dev);
  }
  absl::StatusOr<ExecResult> done = Exec(name, command, absl::Seconds(10));
  if (!done.ok()) return done.status();
  if (done->exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("vm ", name, ": ", dev, " is plugged in, but its addresses could not all be ",
                     "set: ", absl::StripTrailingAsciiWhitespace(done->output)));
  }
  return absl::OkStatus();
}

absl::Status VmManager::DetachNic(absl::string_view name, int index) {
  auto run = [&](const std::string& command) { return Exec(name, command, absl::Seconds(10)); };
  if (absl::Status s = NicHotplug::Unplug(name, index, UmlDir(name) + "/mconsole", run); !s.ok()) {
    return s;
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return absl::OkStatus();  // It ended meanwhile: the NIC is gone too.
    std::vector<NicSpec>& nics = it->second->spec.nics;
    nics.erase(std::remove_if(nics.begin(), nics.end(),
                              [&](const NicSpec& n) { return n.index == index; }),
               nics.end());
  }
  if (absl::Status s = WriteSpec(std::string(name)); !s.ok()) {
    return ForVm(name, absl::Status(s.code(), absl::StrCat("eth", index,
                                                           " is unplugged, but the spec file could "
                                                           "not be updated (a restarted clownixd "
                                                           "would expect it): ",
                                                           s.message())));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> VmManager::SubscribeConsole(absl::string_view name,
                                                    ConsoleCallback on_output) {
  std::shared_ptr<ConsoleLine> console;
  int64_t id;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->hidden) return NoSuchVm(name);
    console = it->second->console;
    id = next_subscription_++;
    subscriptions_[id] = console;
  }
  console->Subscribe(id, std::move(on_output));
  return id;
}

void VmManager::UnsubscribeConsole(int64_t subscription) {
  std::shared_ptr<ConsoleLine> console;
  {
    absl::MutexLock lock(&mu_);
    auto it = subscriptions_.find(subscription);
    if (it == subscriptions_.end()) return;  // Unknown, or its VM ended (Close ended it).
    console = std::move(it->second);
    subscriptions_.erase(it);
  }
  // Without mu_: it may wait for the callback, which may call into this manager.
  console->Unsubscribe(subscription);
}

absl::Status VmManager::WriteConsole(absl::string_view name, absl::string_view bytes) {
  std::shared_ptr<ConsoleLine> console;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->hidden) return NoSuchVm(name);
    console = it->second->console;
  }
  absl::Status written = console->Write(bytes, absl::Now() + absl::Seconds(5));
  if (!written.ok()) return ForVm(name, written);
  return absl::OkStatus();
}

absl::Status VmManager::SetConsoleWindowSize(absl::string_view name, uint16_t rows,
                                             uint16_t columns) {
  std::shared_ptr<ConsoleLine> console;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->hidden) return NoSuchVm(name);
    console = it->second->console;
  }
  absl::Status set = console->SetWindowSize(rows, columns);
  if (!set.ok()) return ForVm(name, set);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Adoption.

absl::StatusOr<std::vector<std::string>> VmManager::Adopt() {
  namespace fs = std::filesystem;
  std::vector<std::string> adopted;
  std::vector<VmEvent> events;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(options_.work_dir + "/uml", ec)) {
    std::string name = entry.path().filename().string();
    if (!common::ValidateName("vm", name).ok()) continue;  // Not a VM of this manager.
    {
      absl::MutexLock lock(&mu_);
      if (vms_.count(name)) continue;
    }
    // Errors are per VM and already dealt with: a stale entry is removed, a VM that cannot be
    // taken over is killed and reported through its final event.
    if (AdoptOne(name, &events).ok()) adopted.push_back(name);
  }
  if (ec) return absl::ErrnoToStatus(ec.value(), options_.work_dir + "/uml");
  Deliver(events);
  for (const std::string& name : adopted) {
    AttachConsole(name);
    AttachAgent(name);
  }
  return adopted;
}

absl::Status VmManager::RemoveStale(const std::string& name) {
  {
    absl::MutexLock lock(&mu_);
    if (vms_.count(name)) return absl::OkStatus();  // Started meanwhile: the files are its own.
    auto placeholder = std::make_unique<Vm>();
    placeholder->spec.name = name;
    placeholder->hidden = true;
    placeholder->ending = true;
    placeholder->console = std::make_shared<ConsoleLine>("");
    vms_[name] = std::move(placeholder);
  }
  absl::Status removed = RemoveFiles(name, /*keep_logs=*/true);
  absl::MutexLock lock(&mu_);
  vms_.erase(name);
  changed_.SignalAll();
  return removed;
}

absl::Status VmManager::AdoptOne(const std::string& name, std::vector<VmEvent>* events) {
  auto stale = [&](absl::string_view why) {
    // The entry is only removed: a failure leaves files nobody uses, which the next Start of the
    // name clears.
    RemoveStale(name).IgnoreError();
    return absl::NotFoundError(absl::StrCat("vm ", name, ": ", why));
  };
  const pid_t pid = ReadPidFile(UmlDir(name) + "/pid");
  if (pid == 0) return stale("no pid file");
  common::UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return stale("process gone");
  // The pidfd first, then the identity: a reused pid fails the check.
  bool has_umid = false;
  bool has_dir = false;
  for (absl::string_view arg : absl::StrSplit(ReadCmdline(pid), '\0')) {
    has_umid |= arg == "umid=" + name;
    has_dir |= arg == "uml_dir=" + options_.work_dir + "/uml";
  }
  if (!has_umid || !has_dir || !confinement_->MayBeAVm(pid)) {
    return stale(absl::StrCat("pid ", pid, " is not this vm"));
  }

  // It is ours and it runs. Without its spec (number, NICs) it cannot be managed: it is killed,
  // through the same path as any death, and ends kCrashed with the reason.
  absl::StatusOr<SpecFile::Contents> contents = SpecFile::Read(VmDir(name) + "/spec");
  absl::StatusOr<std::shared_ptr<common::UniqueFd>> notify = BindNotify(name);
  std::string abandoned;
  if (!contents.ok()) {
    abandoned = std::string(contents.status().message());
  } else if (contents->spec.name != name) {
    abandoned = absl::StrCat("its spec file names vm ", contents->spec.name);
  } else if (!notify.ok()) {
    abandoned = std::string(notify.status().message());
  }
  const std::string console_pts = HeldPtySlave(pid, kConsoleSlaveFd);
  const std::string agent_pts = HeldPtySlave(pid, kAgentSlaveFd);
  // Its cgroups become this manager's to remove when it ends. NOT_FOUND (started where cgroups
  // were not available): it runs unlimited until its next start, which is no worse than before.
  confinement_->Adopt(name, pid).IgnoreError();

  absl::MutexLock lock(&mu_);
  if (vms_.count(name)) return absl::AlreadyExistsError(absl::StrCat("vm ", name, " is managed"));
  auto vm = std::make_unique<Vm>();
  if (abandoned.empty()) {
    vm->spec = contents->spec;
    vm->boot_nics = contents->boot_nics;
    vm->notify = std::move(*notify);
  } else {
    vm->spec.name = name;
    vm->hidden = true;
    vm->abandoned = abandoned;
    vm->stop_requested = true;
  }
  vm->pid = pid;
  vm->adopted = true;
  vm->console_pts = console_pts;
  vm->agent_pts = agent_pts;
  vm->console = std::make_shared<ConsoleLine>(VmDir(name) + "/console.log");
  vm->pidfd = std::move(pidfd);
  if (vm->notify) {
    if (absl::Status s = Register(vm->notify->get(), name, Kind::kNotify, &vm->notify_token);
        !s.ok()) {
      return s;  // Out of epoll watches: the VM runs on unwatched, as before this manager.
    }
  }
  if (absl::Status s = Register(vm->pidfd.get(), name, Kind::kPidfd, &vm->pid_token); !s.ok()) {
    if (vm->notify) Unregister(vm->notify->get(), &vm->notify_token);
    return s;  // Likewise.
  }
  vms_[name] = std::move(vm);
  changed_.SignalAll();
  if (!abandoned.empty()) {
    // The pidfd reports the death; the event loop kills the rest of the group and cleans up.
    // Killing our own VM's group fails only with "no such process": it is dying already.
    kill(-pid, SIGKILL);
    return absl::FailedPreconditionError(absl::StrCat("vm ", name, ": ", abandoned));
  }
  events->push_back({name, VmState::kBooting, "adopted"});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Queries.

absl::StatusOr<std::string> VmManager::KernelVersion(absl::string_view name) const {
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second->hidden) return NoSuchVm(name);
  }
  return MconsoleClient::Send(UmlDir(name) + "/mconsole", "version", absl::Seconds(5));
}

absl::StatusOr<VmInfo> VmManager::Get(absl::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(name);
  if (it == vms_.end() || it->second->hidden) return NoSuchVm(name);
  const Vm& vm = *it->second;
  VmInfo info;
  info.spec = vm.spec;
  info.state = vm.state;
  info.pid = vm.pid;
  info.adopted = vm.adopted;
  info.admin_ip = common::AdminIp(options_.admin_prefix, vm.spec.number).value_or("");
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
    if (info.ok()) out.push_back(std::move(*info));  // NOT_FOUND: gone or hidden meanwhile.
  }
  return out;
}

absl::StatusOr<VmEvent> VmManager::LastExit(absl::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = last_exit_.find(name);
  if (it == last_exit_.end()) {
    return absl::NotFoundError(absl::StrCat("vm ", name, " has not ended"));
  }
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
      if (!final_state && it->second->state == state && !it->second->hidden) {
        return absl::OkStatus();
      }
    } else {
      auto last = last_exit_.find(name);
      if (last != last_exit_.end()) {
        if (last->second.state == state) return absl::OkStatus();
        return absl::FailedPreconditionError(absl::StrFormat(
            "vm %s ended %s: %s", name, VmStateName(last->second.state), last->second.reason));
      }
      if (!final_state) return NoSuchVm(name);
    }
    if (changed_.WaitWithDeadline(&mu_, deadline)) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "vm %s not %s after %s", name, VmStateName(state), absl::FormatDuration(timeout)));
    }
  }
}

}  // namespace clownix::vmm
