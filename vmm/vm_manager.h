// VmManager: the public face of vmm. It starts User-Mode-Linux VMs, watches them, talks to
// them (mconsole, guest agent, console) and stops them. clownixd links it.
//
// How it works. Each VM is one linux.uml process (plus helpers in its process group) started by
// a UmlLauncher (uml_launcher.h) with the seed's command line (uml_command_line.h): a per-VM COW
// over the shared root_fs, a config disk (config_disk.h), eth0..eth7 on LAN control sockets, con0
// and the agent line (ssl1) on ptys (pty.h) whose slaves survive a clownixd restart. This file
// keeps the registry of VMs, their lifecycle and adoption, and one thread running an epoll loop
// over:
//   - a pidfd per VM: death is noticed at once; the whole process group is killed
//     (process_group.h), the child reaped, files removed, and how it ended decided
//     (vm_exit.h), all without the manager's lock held;
//   - each VM's mconsole notify socket (vms/NAME/notify.sock): the VM announces its mconsole at
//     boot and after a reboot, its kernel panics (reported as the cause of the crash that
//     follows), and its agent says "agent-ready" (agent then pinged; the pong makes the VM
//     RUNNING);
//   - each VM's console line (console_line.h: console.log, history, subscribers) and agent line
//     (agent_channel.h: replies matched to waiting Exec calls by request id).
// Everything needed after a restart is on disk: WORK/uml/NAME/pid (written by UML),
// WORK/vms/NAME/spec (spec_file.h). A new VmManager over the same work dir Adopt()s running VMs.
//
// Layout of the work dir (docs/work-dir.md): vmm.lock (one VmManager per work dir), uml/NAME/
// (uml_dir of each VM), vms/NAME/{cow,config.img,console.log,uml.log,spec,notify.sock}, lpj (the
// guest kernel's loops_per_jiffy, learnt from the first boot, passed to later ones).
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
#include "common/unique_fd.h"
#include "vmm/uml_launcher.h"
#include "vmm/vm_confinement.h"
#include "vmm/vm_types.h"

namespace clownix::vmm {

class AgentChannel;
class ConsoleLine;

struct VmInfo {
  VmSpec spec;
  VmState state;
  int pid = 0;           // Main linux.uml pid == its process group.
  bool adopted = false;  // Started by an earlier VmManager.
  std::string admin_ip;
  std::string console_log;  // Path.
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
  // the thread calling Start, Adopt or Reboot for their kBooting events), without any manager
  // lock held; it may call the non-blocking methods (Get, List) but must not block for long, nor
  // call Halt or Kill. A VM's final event has been delivered (this has returned) when the
  // Halt/Kill call that ended it returns.
  std::function<void(const VmEvent&)> on_state_change;
  // Starts the VMs' processes; nullptr: the real one (UmlLauncher::Real). Tests pass a fake.
  std::shared_ptr<UmlLauncher> launcher;
  // How the VMs are kept inside (vm_confinement.h). The default confines with landlock and runs
  // the VMs as clownixd's user; clownixd gives each VM its own user (--vm_uid_base).
  ConfinementPolicy confinement;
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
  // NIC index/path); NOT_FOUND: its image (spec.root_fs) is not a file; ALREADY_EXISTS: name or
  // number in use (or a VM of that name runs outside this manager: Adopt it); FAILED_PRECONDITION:
  // root_fs mode and a VM already runs or the spec names another image, or a NIC's control socket
  // does not exist; others: could not create its files (config disk, spec file) or its process. On
  // error nothing is left behind (no COW, no config disk, no process).
  absl::Status Start(const VmSpec& spec);

  // Stops the VM gracefully: the guest runs its shutdown script (GuestConfig::shutdown) and
  // powers off through its init (agent, ConfigDisk::HaltCommand: file systems unmounted), after
  // three quarters of `deadline` the guest kernel is halted (mconsole "halt"),
  // and at `deadline` the whole process group is SIGKILLed. Returns once the VM is gone and cleaned
  // up (final state kStopped). NOT_FOUND: no such VM.
  absl::Status Halt(absl::string_view name, absl::Duration deadline = absl::Seconds(10));

  // SIGKILLs the VM's whole process group and waits until it is cleaned up. NOT_FOUND.
  absl::Status Kill(absl::string_view name);

  // Reboots in place (mconsole "reboot", after the guest synced its file systems through the
  // agent, for at most 5 s): same pid, state goes back to kBooting, then
  // kRunning when the agent answers again. NOT_FOUND; UNAVAILABLE if mconsole does not answer;
  // the error of the spec file's write when the VM rebooted but its spec file (which now lists
  // the boot NICs only) could not be updated.
  absl::Status Reboot(absl::string_view name);

  // Runs `command` with /bin/sh in the guest through the agent line. The guest kills the
  // command's whole session after `timeout` (rounded up to whole seconds) and the call returns
  // DEADLINE_EXCEEDED. Output (stdout+stderr) is capped at `output_cap` bytes.
  // NOT_FOUND; FAILED_PRECONDITION: VM not kRunning; INVALID_ARGUMENT: empty/oversized
  // command; UNAVAILABLE: the VM died or rebooted meanwhile; INTERNAL: the agent's reply was
  // malformed (the guest's doing). Concurrent calls are independent.
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
  // If the spec file cannot be updated the NIC is unplugged again and the write's error returned
  // (a NIC the spec file does not list would be forgotten by a restarted clownixd).
  // `addresses` (CIDRs, common::ValidateCidr) are then set on it, the NIC up: an address that
  // cannot be set is FAILED_PRECONDITION with the guest's message (the NIC stays plugged).
  absl::Status AttachNic(absl::string_view name, const NicSpec& nic,
                         const std::vector<std::string>& addresses = {});

  // Takes ethN down in the guest (agent), then unplugs it (mconsole "remove ethN").
  // NOT_FOUND: no VM or no such NIC; FAILED_PRECONDITION: not kRunning. The write's error when
  // the NIC is gone but the spec file could not be updated.
  absl::Status DetachNic(absl::string_view name, int index);

  // Subscribes to the VM's console output. `on_output` first gets the recent history (up to
  // 64 KiB) on the calling thread, then every new chunk, in order, on the manager's thread,
  // without manager locks held (it may call any method). Returns a subscription id for
  // UnsubscribeConsole. The subscription ends by itself when the VM ends. NOT_FOUND.
  using ConsoleCallback = std::function<void(absl::string_view bytes)>;
  absl::StatusOr<int64_t> SubscribeConsole(absl::string_view name, ConsoleCallback on_output);
  // Ends a subscription. When it returns, the callback is not running and is never called
  // again, so what it refers to may be destroyed; it waits for a call in progress. Called from
  // inside that subscription's own callback it does not wait (no deadlock), and the callback is
  // not called again after it returns. Unknown or ended subscriptions are ignored.
  void UnsubscribeConsole(int64_t subscription);

  // Writes keystrokes to the VM's console. NOT_FOUND; UNAVAILABLE: console not attached.
  absl::Status WriteConsole(absl::string_view name, absl::string_view bytes);

  // Sets the VM's console window size (ConsoleLine::SetWindowSize: kept across reboots; the
  // guest's tty follows through UML's winch helper). NOT_FOUND; errors of TIOCSWINSZ.
  absl::Status SetConsoleWindowSize(absl::string_view name, uint16_t rows, uint16_t columns);

  // Adopts every VM of the work dir that still runs (pid file names a live process whose
  // command line carries this work dir's uml_dir and the VM's umid): watching, console and
  // agent are re-attached. Stale entries (dead process) are cleaned up. A VM that runs but
  // cannot be taken over (its spec file is missing or corrupt) is killed and ends kCrashed with
  // the reason ("not adopted: ..."), reported through on_state_change and LastExit. Returns the
  // adopted names. Idempotent: VMs already managed are skipped.
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

  // What VM `name`'s host cgroups count now: memory (the guest RAM it touched, UML's own, the
  // page cache of its disks), its peak, tasks, OOM kills. NOT_FOUND: no such VM, or one without
  // cgroups (adopted from a clownixd that could not limit it); FAILED_PRECONDITION: the host
  // gives VMs no cgroups. Reads a few cgroup files; takes no lock while it does.
  absl::StatusOr<CgroupLimits::Usage> HostUsage(absl::string_view name) const;

  // The final state and reason of the last VM of that name that ended; NOT_FOUND otherwise.
  absl::StatusOr<VmEvent> LastExit(absl::string_view name) const;

  // Whether VMs get the XSTATE shim preloaded (decided in Create).
  bool uses_xstate_fix() const { return !preload_.empty(); }
  // What this host does not let VmManager confine, one sentence each (vm_confinement.h);
  // clownixd logs them at start.
  const std::string& cgroup_description() const { return confinement_->cgroup_description(); }
  const std::vector<std::string>& confinement_warnings() const { return confinement_->warnings(); }

 private:
  struct Vm;
  enum class Kind : uint8_t { kPidfd, kConsole, kAgent, kNotify };
  struct Watch {  // What an epoll token stands for.
    std::string name;
    Kind kind;
  };

  VmManager(VmManagerOptions options, std::string preload,
            std::unique_ptr<VmConfinement> confinement);
  absl::Status Init();
  std::string VmDir(absl::string_view name) const;
  std::string UmlDir(absl::string_view name) const;
  std::string NewRequestId();

  // The event loop and its handlers. Each handler takes mu_ itself, only around bookkeeping:
  // reading lines, killing process groups, removing and writing files run without it.
  void Loop();
  void HandleDeath(const std::string& name, uint64_t token) ABSL_LOCKS_EXCLUDED(mu_);
  void HandleNotify(const std::string& name, uint64_t token) ABSL_LOCKS_EXCLUDED(mu_);
  void HandleConsole(const std::string& name, uint64_t token, bool hangup) ABSL_LOCKS_EXCLUDED(mu_);
  void HandleAgent(const std::string& name, uint64_t token, bool hangup) ABSL_LOCKS_EXCLUDED(mu_);
  // Sets `addresses` on ethN of a running VM through its agent (AttachNic).
  absl::Status SetAddresses(absl::string_view name, int index,
                            const std::vector<std::string>& addresses);
  // Once the agent of a boot answers: asks it for the startup report (config_disk.h), without
  // waiting; the answer becomes a kRunning event with `startup` set.
  void CollectStartup(const std::string& name, const std::shared_ptr<AgentChannel>& agent)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Start's steps: the image file UML opens (`root_fs`), the argv (validates the spec), the name
  // reserved in vms_, the files and the process; Unreserve undoes Reserve and Launch.
  absl::StatusOr<std::string> ImageOf(const VmSpec& spec);
  absl::StatusOr<std::vector<std::string>> CommandLine(const VmSpec& spec,
                                                       const std::string& root_fs) const;
  absl::Status Reserve(const VmSpec& spec) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Launch(const VmSpec& spec, const std::string& admin_ip,
                      const std::vector<std::string>& argv, const std::string& root_fs)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Unreserve(const std::string& name) ABSL_LOCKS_EXCLUDED(mu_);

  // Open the VM's console / agent pty slave (path known from Start or from /proc/PID/fd on
  // adoption) unless already attached; AttachAgent then pings the agent.
  void AttachConsole(const std::string& name) ABSL_LOCKS_EXCLUDED(mu_);
  void AttachAgent(const std::string& name) ABSL_LOCKS_EXCLUDED(mu_);
  // Unregisters the agent line and returns the channel, for the caller to Close without mu_.
  std::shared_ptr<AgentChannel> DetachAgentLocked(Vm& vm) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Binds vms/NAME/notify.sock (the VM's mconsole=notify: target), replacing a stale one.
  absl::StatusOr<std::shared_ptr<common::UniqueFd>> BindNotify(const std::string& name) const;
  // Writes the VM's spec file as the VM is now; writes of one VM are serialized, and none
  // happens once its death is being handled. OK if the VM is gone.
  absl::Status WriteSpec(const std::string& name) ABSL_LOCKS_EXCLUDED(mu_);

  absl::Status Register(int fd, const std::string& name, Kind kind, uint64_t* token)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unregister(int fd, uint64_t* token) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Deliver(const std::vector<VmEvent>& events) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status WaitGone(absl::string_view name, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status AdoptOne(const std::string& name, std::vector<VmEvent>* events)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Removes the files of a VM that no process runs for (stale adoption entry) while its name is
  // held in vms_, so that no Start of that name runs meanwhile.
  absl::Status RemoveStale(const std::string& name) ABSL_LOCKS_EXCLUDED(mu_);
  // The caller holds the name (vms_) or knows nobody uses it.
  absl::Status RemoveFiles(const std::string& name, bool keep_logs) const;

  const VmManagerOptions options_;
  const std::string preload_;
  const std::unique_ptr<VmConfinement> confinement_;
  std::shared_ptr<UmlLauncher> launcher_;
  std::string request_prefix_;  // Random per manager: replies meant for an earlier one never match.
  std::atomic<uint64_t> next_request_{1};
  int lock_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread loop_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> lpj_{0};  // Learnt from the first agent's ready line; WORK/lpj.

  mutable absl::Mutex mu_;
  absl::CondVar changed_;  // Signalled on every state change and death.
  std::map<std::string, std::unique_ptr<Vm>, std::less<>> vms_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, VmEvent, std::less<>> last_exit_ ABSL_GUARDED_BY(mu_);
  // Ends taken out of vms_ whose event on_state_change has not returned from yet (WaitGone).
  std::map<std::string, int, std::less<>> undelivered_ends_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Watch> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::shared_ptr<ConsoleLine>> subscriptions_ ABSL_GUARDED_BY(mu_);
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t next_subscription_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_VM_MANAGER_H_
