// FakeVmDriver: a VmDriver with no VM behind it, for unit tests of what drives VMs. A test makes
// VMs boot, answer, crash, fail to start or be found running at start (adoption), and reads what
// was asked of them. Events go to the callback given at construction, on the calling thread,
// with no lock held (a Start's BOOTING before Start returns, as vmm does).
//
// Thread-safety: every method may be called from any thread.
#ifndef CLOWNIX_SERVER_TESTING_FAKE_VM_DRIVER_H_
#define CLOWNIX_SERVER_TESTING_FAKE_VM_DRIVER_H_

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/testing/failure_script.h"
#include "server/vm_driver.h"

namespace clownix::server::testing {

class FakeVmDriver final : public VmDriver {
 public:
  using Vms = std::map<std::string, Info>;  // the VMs that run, by name

  explicit FakeVmDriver(std::function<void(const Event&)> on_event)
      : on_event_(std::move(on_event)) {}

  // VmDriver. Start/Reboot: BOOTING, then at once RUNNING and its startup finished (DONE) unless
  // set_boot_to_running(false).
  // Kill / Halt: the VM is gone, STOPPED. A reboot forgets hot-plugged NICs (as UML does).
  absl::Status Start(const Spec& spec) override;
  absl::Status Kill(const std::string& name) override;
  absl::Status Halt(const std::string& name, absl::Duration grace) override;
  absl::Status Reboot(const std::string& name) override;
  absl::Status AttachNic(const std::string& name, int index, const std::string& ctl_path,
                         const std::vector<std::string>& addresses) override;
  absl::Status DetachNic(const std::string& name, int index) override;
  absl::StatusOr<Info> Get(const std::string& name) const override;
  std::vector<Info> List() const override;

  // Scripting.
  void set_boot_to_running(bool value);
  // A VM that already runs, as a new clownixd finds it: no event. Returns its pid.
  int AddRunning(const Spec& spec, clownix::v1::VmState state = clownix::v1::VM_STATE_RUNNING);
  // The VM's agent answered: RUNNING.
  void MakeRunning(const std::string& name);
  // The VM's guest finished its startup: a RUNNING event with `startup` set.
  void FinishStartup(const std::string& name, clownix::v1::StartupStatus startup);
  // The addresses the last AttachNic of ethN gave.
  std::vector<std::string> nic_addresses(const std::string& name, int index) const;
  // The VM ended by itself: CRASHED with `reason`.
  void Crash(const std::string& name, const std::string& reason);
  // The next `times` calls (times < 0: all of them; 0: none, ending the script) for VM `name`
  // fail with `status`.
  void FailStart(const std::string& name, absl::Status status, int times = -1);
  void FailKill(const std::string& name, absl::Status status, int times = -1);
  void FailHalt(const std::string& name, absl::Status status, int times = -1);
  void FailNicChanges(const std::string& name, absl::Status status, int times = -1);

  // What happened. Counts include the calls that failed.
  int starts(const std::string& name) const;
  int kills(const std::string& name) const;
  int halts(const std::string& name) const;
  int nic_changes(const std::string& name) const;  // AttachNic and DetachNic
  // The spec of the VM's last Start.
  Spec last_spec(const std::string& name) const;
  Vms vms() const;
  // Blocks until `condition` holds of the running VMs or `timeout` passes; whether it holds.
  bool WaitUntil(const std::function<bool(const Vms&)>& condition, absl::Duration timeout) const;

 private:
  // Ends a VM: removes it and returns its final event.
  Event EndLocked(const std::string& name, clownix::v1::VmState state, std::string reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Deliver(const std::vector<Event>& events);
  static void AppendRunning(const std::string& name, std::vector<Event>& events);

  const std::function<void(const Event&)> on_event_;
  mutable absl::Mutex mu_;
  Vms vms_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<int, std::string>> boot_nics_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Spec> last_specs_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, int>, std::vector<std::string>> nic_addresses_
      ABSL_GUARDED_BY(mu_);
  FailureScript script_ ABSL_GUARDED_BY(mu_);
  bool boot_to_running_ ABSL_GUARDED_BY(mu_) = true;
  int next_pid_ ABSL_GUARDED_BY(mu_) = 1000;
};

}  // namespace clownix::server::testing

#endif  // CLOWNIX_SERVER_TESTING_FAKE_VM_DRIVER_H_
