#include "server/testing/fake_vm_driver.h"

#include "absl/strings/str_cat.h"

namespace clownix::server::testing {
namespace {

using clownix::v1::VM_STATE_BOOTING;
using clownix::v1::VM_STATE_CRASHED;
using clownix::v1::VM_STATE_RUNNING;
using clownix::v1::VM_STATE_STOPPED;

absl::Status NoVm(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("vm \"", name, "\" does not run"));
}

}  // namespace

absl::Status FakeVmDriver::Start(const Spec& spec) {
  std::vector<Event> events;
  {
    absl::MutexLock lock(&mu_);
    last_specs_[spec.name] = spec;
    if (absl::Status s = script_.Take("start", spec.name); !s.ok()) return s;
    if (vms_.count(spec.name)) {
      return absl::AlreadyExistsError(absl::StrCat("vm \"", spec.name, "\" runs"));
    }
    Info& info = vms_[spec.name];
    info.name = spec.name;
    info.pid = next_pid_++;
    info.nics = spec.nics;
    info.state = boot_to_running_ ? VM_STATE_RUNNING : VM_STATE_BOOTING;
    boot_nics_[spec.name] = spec.nics;
    events.push_back({spec.name, VM_STATE_BOOTING, ""});
    if (boot_to_running_) AppendRunning(spec.name, events);
  }
  Deliver(events);
  return absl::OkStatus();
}

absl::Status FakeVmDriver::Kill(const std::string& name) {
  Event event;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = script_.Take("kill", name); !s.ok()) return s;
    if (!vms_.count(name)) return NoVm(name);
    event = EndLocked(name, VM_STATE_STOPPED, "killed");
  }
  Deliver({event});
  return absl::OkStatus();
}

absl::Status FakeVmDriver::Halt(const std::string& name, absl::Duration grace) {
  Event event;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = script_.Take("halt", name); !s.ok()) return s;
    if (!vms_.count(name)) return NoVm(name);
    event = EndLocked(name, VM_STATE_STOPPED, "halted");
  }
  Deliver({event});
  return absl::OkStatus();
}

absl::Status FakeVmDriver::Reboot(const std::string& name) {
  std::vector<Event> events;
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end()) return NoVm(name);
    it->second.nics = boot_nics_[name];
    it->second.state = boot_to_running_ ? VM_STATE_RUNNING : VM_STATE_BOOTING;
    events.push_back({name, VM_STATE_BOOTING, ""});
    if (boot_to_running_) AppendRunning(name, events);
  }
  Deliver(events);
  return absl::OkStatus();
}

absl::Status FakeVmDriver::AttachNic(const std::string& name, int index,
                                     const std::string& ctl_path,
                                     const std::vector<std::string>& addresses) {
  absl::MutexLock lock(&mu_);
  nic_addresses_[{name, index}] = addresses;
  if (absl::Status s = script_.Take("nic", name); !s.ok()) return s;
  auto it = vms_.find(name);
  if (it == vms_.end()) return NoVm(name);
  if (it->second.state != VM_STATE_RUNNING) {
    return absl::FailedPreconditionError(absl::StrCat("vm \"", name, "\" is not running"));
  }
  if (!it->second.nics.emplace(index, ctl_path).second) {
    return absl::AlreadyExistsError(absl::StrCat(name, "/eth", index, " exists"));
  }
  return absl::OkStatus();
}

void FakeVmDriver::AppendRunning(const std::string& name, std::vector<Event>& events) {
  // As vmm does: RUNNING when the agent answers, then the startup's report (always one per boot).
  events.push_back({name, VM_STATE_RUNNING, ""});
  clownix::v1::StartupStatus startup;
  startup.set_state(clownix::v1::StartupStatus::STATE_DONE);
  events.push_back({name, VM_STATE_RUNNING, "startup finished", std::move(startup)});
}

void FakeVmDriver::FinishStartup(const std::string& name, clownix::v1::StartupStatus startup) {
  Deliver({{name, VM_STATE_RUNNING, "startup finished", std::move(startup)}});
}

std::vector<std::string> FakeVmDriver::nic_addresses(const std::string& name, int index) const {
  absl::MutexLock lock(&mu_);
  auto it = nic_addresses_.find({name, index});
  return it == nic_addresses_.end() ? std::vector<std::string>{} : it->second;
}

absl::Status FakeVmDriver::DetachNic(const std::string& name, int index) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = script_.Take("nic", name); !s.ok()) return s;
  auto it = vms_.find(name);
  if (it == vms_.end()) return NoVm(name);
  if (it->second.state != VM_STATE_RUNNING) {
    return absl::FailedPreconditionError(absl::StrCat("vm \"", name, "\" is not running"));
  }
  if (it->second.nics.erase(index) == 0) {
    return absl::NotFoundError(absl::StrCat(name, "/eth", index, " does not exist"));
  }
  return absl::OkStatus();
}

absl::StatusOr<VmDriver::Info> FakeVmDriver::Get(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = vms_.find(name);
  if (it == vms_.end()) return NoVm(name);
  return it->second;
}

std::vector<VmDriver::Info> FakeVmDriver::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<Info> list;
  for (const auto& [name, info] : vms_) list.push_back(info);
  return list;
}

void FakeVmDriver::set_boot_to_running(bool value) {
  absl::MutexLock lock(&mu_);
  boot_to_running_ = value;
}

int FakeVmDriver::AddRunning(const Spec& spec, clownix::v1::VmState state) {
  absl::MutexLock lock(&mu_);
  Info& info = vms_[spec.name];
  info.name = spec.name;
  info.pid = next_pid_++;
  info.nics = spec.nics;
  info.state = state;
  boot_nics_[spec.name] = spec.nics;
  return info.pid;
}

void FakeVmDriver::MakeRunning(const std::string& name) {
  {
    absl::MutexLock lock(&mu_);
    auto it = vms_.find(name);
    if (it == vms_.end() || it->second.state == VM_STATE_RUNNING) return;
    it->second.state = VM_STATE_RUNNING;
  }
  Deliver({{name, VM_STATE_RUNNING, ""}});
}

void FakeVmDriver::Crash(const std::string& name, const std::string& reason) {
  Event event;
  {
    absl::MutexLock lock(&mu_);
    if (!vms_.count(name)) return;
    event = EndLocked(name, VM_STATE_CRASHED, reason);
  }
  Deliver({event});
}

void FakeVmDriver::FailStart(const std::string& name, absl::Status status, int times) {
  absl::MutexLock lock(&mu_);
  script_.Set("start", name, std::move(status), times);
}
void FakeVmDriver::FailKill(const std::string& name, absl::Status status, int times) {
  absl::MutexLock lock(&mu_);
  script_.Set("kill", name, std::move(status), times);
}
void FakeVmDriver::FailHalt(const std::string& name, absl::Status status, int times) {
  absl::MutexLock lock(&mu_);
  script_.Set("halt", name, std::move(status), times);
}
void FakeVmDriver::FailNicChanges(const std::string& name, absl::Status status, int times) {
  absl::MutexLock lock(&mu_);
  script_.Set("nic", name, std::move(status), times);
}

int FakeVmDriver::starts(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  return script_.Calls("start", name);
}
int FakeVmDriver::kills(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  return script_.Calls("kill", name);
}
int FakeVmDriver::halts(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  return script_.Calls("halt", name);
}
int FakeVmDriver::nic_changes(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  return script_.Calls("nic", name);
}

VmDriver::Spec FakeVmDriver::last_spec(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = last_specs_.find(name);
  return it == last_specs_.end() ? Spec{} : it->second;
}

FakeVmDriver::Vms FakeVmDriver::vms() const {
  absl::MutexLock lock(&mu_);
  return vms_;
}

bool FakeVmDriver::WaitUntil(const std::function<bool(const Vms&)>& condition,
                             absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto holds = [this, &condition]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return condition(vms_); };
  return mu_.AwaitWithTimeout(absl::Condition(&holds), timeout);
}

VmDriver::Event FakeVmDriver::EndLocked(const std::string& name, clownix::v1::VmState state,
                                        std::string reason) {
  vms_.erase(name);
  boot_nics_.erase(name);
  return Event{name, state, std::move(reason)};
}

void FakeVmDriver::Deliver(const std::vector<Event>& events) {
  for (const Event& event : events) on_event_(event);
}

}  // namespace clownix::server::testing
