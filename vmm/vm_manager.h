// VmManager: the public face of vmm. It starts User-Mode-Linux VMs, watches them, talks to
// them (mconsole, guest agent, console) and stops them. clownixd links it.
//
// How it works. Each VM is one linux.uml process (plus helpers in its process group) spawned
// with the seed's command line (uml_command_line.h): a per-VM COW over the shared root_fs, a
// config disk (config_disk.h), eth0..eth7 on LAN control sockets, con0 and the agent line
// (ssl1) on pty masters passed to UML (it also holds a slave, so lines survive a clownixd
// restart and are re-opened by path). One thread runs an epoll loop over:
//   - a pidfd per VM: death is noticed at once; the whole process group is SIGKILLed (UML
//     helpers outlive a plain kill of the main pid), a child is reaped, files are removed;
//   - each VM's mconsole notify socket (vms/NAME/notify.sock): the VM announces its mconsole at
//     boot and after a reboot, its kernel panics (reported as the cause of the crash that
//     follows), and its agent says "agent-ready" (agent then pinged; the pong makes the VM
//     RUNNING);
//   - each VM's console pty (copied to WORK/vms/NAME/console.log and to subscribers) and agent
//     pty (replies matched to waiting Exec calls by request id).
// Everything needed after a restart is on disk: WORK/uml/NAME/pid (written by UML),
// WORK/vms/NAME/spec. A new VmManager over the same work dir Adopt()s running VMs.
//
// Layout of the work dir: vmm.lock (one VmManager per work dir), uml/NAME/ (uml_dir of each
// VM), vms/NAME/{cow,config.img,console.log,uml.log,spec,notify.sock}, lpj (the guest
// kernel's loops_per_jiffy, learnt from the first boot, passed to later ones).
#ifndef CLOWNIX_VMM_VM_MANAGER_H_
#define CLOWNIX_VMM_VM_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace clownix::vmm {

enum class VmState {
  kBooting,  // Process started (or rebooting); the guest agent has not answered yet.
  kRunning,  // The guest agent answered: Exec works.
  kStopped,  // Ended by Halt/Kill or by the guest powering off (exit status 0). Final.
  kCrashed,  // Ended any other way (signal, non-zero exit, kernel panic). Final.
};
const char* VmStateName(VmState state);

struct VmEvent {
  std::string name;
  VmState state;
  std::string reason;  // Why, for kStopped/kCrashed ("killed by signal 9", "kernel panic: ...").
};

struct NicSpec {
  int index = 0;         // ethN, 0..7. eth0 is the admin interface.
  std::string ctl_path;  // The LAN's control socket (UML daemon transport).
};

struct VmSpec {
  std::string name;  // [A-Za-z0-9][A-Za-z0-9_-]{0,31}; the umid and the guest hostname.
  int number = 0;    // 1..9999: MACs and the admin IP derive from it (addressing.h).
  int mem_mib = 64;  // 48..16384.
  std::vector<NicSpec> nics;
};

struct VmInfo {
  VmSpec spec;
  VmState state;
  int pid = 0;           // Main linux.uml pid == its process group.
  bool adopted = false;  // Started by an earlier VmManager.
  std::string admin_ip;
  std::string console_log;  // Path.
};

struct ExecResult {
  int exit_code = 0;                // 128+N when the command was killed by signal N.
  std::string output;               // stdout+stderr, the first `output_cap` bytes.
  uint64_t total_output_bytes = 0;  // How much the command produced.
  bool truncated() const { return total_output_bytes > output.size(); }
};

enum class XstateFix { kAuto, kAlways, kNever };

struct VmManagerOptions {
  std::string work_dir;  // Created if missing; must be writable.
  std::string kernel = "/usr/bin/linux.uml";
  std::string root_fs;                      // The reference root_fs image (e.g. rootfs.img).
  std::string admin_prefix = "10.0";        // X.Y of the admin network.
  std::string rsa_public_key;               // Installed as root's authorized_keys; may be "".
  bool root_fs_mode = false;                // Seed's --root_fs: no COW, one VM at most.
  std::string xstate_fix_library;           // Path of libuml_xstate_fix.so.
  XstateFix xstate_fix = XstateFix::kAuto;  // kAuto: preload it only if the host needs it.
  // Called on every state change, in order for a given VM. Runs on the manager's thread (or on
  // the thread calling Start/Adopt for their kBooting events), without any manager lock held;
  // it may call the non-blocking methods (Get, List) but must not block for long. A final
  // event may arrive just after the Halt/Kill call that caused it has returned.
  std::function<void(const VmEvent&)> on_state_change;
};

// Thread-safety: every public method may be called from any thread concurrently. Methods that
// wait (Halt, Kill, Exec, WaitForState) block only their caller.
class VmManager {
 public:
  // Validates `options` and takes the work dir. INVALID_ARGUMENT: bad admin prefix or key,
  // missing kernel/root_fs (NOT_FOUND), work dir not writable (PERMISSION_DENIED),
  // FAILED_PRECONDITION: another VmManager holds the work dir. Does not adopt: call Adopt().
  static absl::StatusOr<std::unique_ptr<VmManager>> Create(VmManagerOptions options);

  // Stops watching. VMs keep running (a later VmManager adopts them); use Kill/Halt to stop
  // them first if that is wanted. No other call may be in progress or follow.
  ~VmManager();

  VmManager(const VmManager&) = delete;
  VmManager& operator=(const VmManager&) = delete;

  // Starts a VM and returns once its process runs (state kBooting); kRunning follows when the
  // guest agent answers (typically 1-2 s). INVALID_ARGUMENT: bad spec (name, number, mem,
  // NIC index/path); ALREADY_EXISTS: name or number in use (or a VM of that name runs outside
  // this manager: Adopt it); FAILED_PRECONDITION: root_fs mode and a VM already runs, or a
  // NIC's control socket does not exist;
  // INTERNAL/UNAVAILABLE: could not create files or the process. On error nothing is left
  // behind (no COW, no config disk, no process).
  absl::Status Start(const VmSpec& spec);

  // Stops the VM gracefully: the guest powers off through its init (agent "poweroff": file
  // systems unmounted), after half of `deadline` the guest kernel is halted (mconsole "halt"),
  // and at `deadline` the whole process group is SIGKILLed. Returns once the VM is gone and cleaned
  // up (final state kStopped). NOT_FOUND: no such VM.
  absl::Status Halt(absl::string_view name, absl::Duration deadline = absl::Seconds(10));

  // SIGKILLs the VM's whole process group and waits until it is cleaned up. NOT_FOUND.
  absl::Status Kill(absl::string_view name);

  // Reboots in place (mconsole "reboot"): same pid, state goes back to kBooting, then
  // kRunning when the agent answers again. NOT_FOUND; UNAVAILABLE if mconsole does not answer.
  absl::Status Reboot(absl::string_view name);

  // Runs `command` with /bin/sh in the guest through the agent line. The guest kills the
  // command's whole session after `timeout` (rounded up to whole seconds) and the call returns
  // DEADLINE_EXCEEDED. Output (stdout+stderr) is capped at `output_cap` bytes.
  // NOT_FOUND; FAILED_PRECONDITION: VM not kRunning; INVALID_ARGUMENT: empty/oversized
  // command; UNAVAILABLE: the VM died or rebooted meanwhile. Concurrent calls are independent.
  absl::StatusOr<ExecResult> Exec(absl::string_view name, absl::string_view command,
                                  absl::Duration timeout = absl::Seconds(30),
                                  size_t output_cap = 64 * 1024);

  // Exec of an argument vector: each word reaches the program as is (quoted for /bin/sh by
  // AgentProtocol::QuoteArgv). Same status codes as Exec.
  absl::StatusOr<ExecResult> ExecArgv(absl::string_view name, const std::vector<std::string>& argv,
                                      absl::Duration timeout = absl::Seconds(30),
                                      size_t output_cap = 64 * 1024);

  // Hot-plugs ethN into a running VM (mconsole "config ethN=daemon,MAC,unix,CTL") and checks
  // through the agent that the interface exists. INVALID_ARGUMENT; NOT_FOUND;
  // ALREADY_EXISTS: ethN present; FAILED_PRECONDITION: not kRunning, or no socket at ctl_path;
  // UNAVAILABLE: UML accepted but no interface appeared (a stale socket nobody listens on).
  absl::Status AttachNic(absl::string_view name, const NicSpec& nic);

  // Takes ethN down in the guest (agent), then unplugs it (mconsole "remove ethN").
  // NOT_FOUND: no VM or no such NIC; FAILED_PRECONDITION: not kRunning.
  absl::Status DetachNic(absl::string_view name, int index);

  // Subscribes to the VM's console output. `on_output` first gets the recent history (up to
  // 64 KiB), then every new chunk, on the manager's thread, without locks held. Returns a
  // subscription id for UnsubscribeConsole. The subscription ends by itself when the VM ends.
  using ConsoleCallback = std::function<void(absl::string_view bytes)>;
  absl::StatusOr<int64_t> SubscribeConsole(absl::string_view name, ConsoleCallback on_output);
  void UnsubscribeConsole(int64_t subscription);

  // Writes keystrokes to the VM's console. NOT_FOUND; UNAVAILABLE: console not attached.
  absl::Status WriteConsole(absl::string_view name, absl::string_view bytes);

  // Adopts every VM of the work dir that still runs (pid file names a live process whose
  // command line carries this work dir's uml_dir and the VM's umid): watching, console and
  // agent are re-attached. Stale entries (dead process) are cleaned up. Returns the adopted
  // names. Idempotent: VMs already managed are skipped.
  absl::StatusOr<std::vector<std::string>> Adopt();

  // The guest kernel's version string over mconsole ("version"), e.g. "Linux (none) 6.1.176
  // ... x86_64". NOT_FOUND; UNAVAILABLE/DEADLINE_EXCEEDED when mconsole does not answer.
  absl::StatusOr<std::string> KernelVersion(absl::string_view name) const;

  // Snapshot of one VM / all VMs. NOT_FOUND.
  absl::StatusOr<VmInfo> Get(absl::string_view name) const;
  std::vector<VmInfo> List() const;

  // Blocks until VM `name` is in `state` (for kStopped/kCrashed: has ended that way) or
  // `timeout` passes (DEADLINE_EXCEEDED). FAILED_PRECONDITION if it ended in another final
  // state. For tests, tools and callers that need "ready".
  absl::Status WaitForState(absl::string_view name, VmState state, absl::Duration timeout);

  // The final state and reason of the last VM of that name that ended; NOT_FOUND otherwise.
  absl::StatusOr<VmEvent> LastExit(absl::string_view name) const;

  // Whether VMs get the XSTATE shim preloaded (decided in Create).
  bool uses_xstate_fix() const { return !preload_.empty(); }

 private:
  struct Vm;
  struct Fd;
  enum class Kind : uint8_t { kPidfd, kConsole, kAgent, kNotify };

  explicit VmManager(VmManagerOptions options);
  absl::Status Init();
  void Loop();
  std::string VmDir(absl::string_view name) const;
  std::string UmlDir(absl::string_view name) const;

  // Epoll handlers; each returns events to deliver after the lock is released.
  void HandleNotify(const std::string& name, std::vector<VmEvent>* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandlePidfd(const std::string& name, std::vector<VmEvent>* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleConsole(const std::string& name, uint32_t epoll_events,
                     std::vector<std::pair<std::vector<ConsoleCallback>, std::string>>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleAgent(const std::string& name, uint32_t epoll_events, std::vector<VmEvent>* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Open the VM's console / agent pty slave (path known from Start or from /proc/PID/fd on
  // adoption) unless already open; AttachAgent then pings the agent. Take mu_ themselves.
  void AttachConsole(const std::string& name);
  void AttachAgent(const std::string& name);
  void AttachConsoleLocked(const std::string& name, Vm& vm) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AttachAgentLocked(const std::string& name, Vm& vm) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Binds vms/NAME/notify.sock (the VM's mconsole=notify: target), replacing a stale one.
  absl::StatusOr<std::unique_ptr<Fd>> BindNotify(const std::string& name);

  absl::Status Register(int fd, const std::string& name, Kind kind, uint64_t* token)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unregister(uint64_t token) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DetachAgentLocked(Vm& vm, const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After a reboot the VM has its command line's NICs again, whatever was hot-plugged since.
  void ForgetHotplugLocked(const std::string& name, Vm& vm) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DetachConsoleLocked(Vm& vm) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Deliver(const std::vector<VmEvent>& events);
  absl::Status WaitGone(absl::string_view name, absl::Duration timeout);
  absl::Status AdoptOne(const std::string& name, std::vector<VmEvent>* events);
  absl::Status RemoveFiles(const std::string& name, bool keep_logs);

  const VmManagerOptions options_;
  std::string preload_;
  int lock_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread loop_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> lpj_{0};  // Learnt from the first agent's ready line; WORK/lpj.

  mutable absl::Mutex mu_;
  absl::CondVar changed_;  // Signalled on every state change, death and agent reply.
  std::map<std::string, std::unique_ptr<Vm>, std::less<>> vms_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, VmEvent, std::less<>> last_exit_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::pair<std::string, Kind>> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::string> subscriptions_ ABSL_GUARDED_BY(mu_);
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t next_subscription_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_request_ ABSL_GUARDED_BY(mu_) = 1;
  std::string request_prefix_;
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_VM_MANAGER_H_
