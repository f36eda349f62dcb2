#include "server/vm_manager_driver.h"

namespace clownix::server {

VmDriver::Event VmManagerDriver::ToEvent(const vmm::VmEvent& event) {
  Event out{event.name, ToState(event.state), event.reason, std::nullopt};
  if (event.startup) {
    clownix::v1::StartupStatus& startup = out.startup.emplace();
    startup.set_state(event.startup->ok ? clownix::v1::StartupStatus::STATE_DONE
                                        : clownix::v1::StartupStatus::STATE_FAILED);
    startup.set_exit_code(event.startup->exit_code);
    startup.set_output(event.startup->output);
  }
  return out;
}

clownix::v1::VmState VmManagerDriver::ToState(vmm::VmState state) {
  switch (state) {
    case vmm::VmState::kBooting:
      return clownix::v1::VM_STATE_BOOTING;
    case vmm::VmState::kRunning:
      return clownix::v1::VM_STATE_RUNNING;
    case vmm::VmState::kStopped:
      return clownix::v1::VM_STATE_STOPPED;
    case vmm::VmState::kCrashed:
      return clownix::v1::VM_STATE_CRASHED;
  }
  return clownix::v1::VM_STATE_CRASHED;
}

VmDriver::Info VmManagerDriver::ToInfo(const vmm::VmInfo& info) {
  Info out;
  out.name = info.spec.name;
  out.state = ToState(info.state);
  out.pid = info.pid;
  for (const vmm::NicSpec& nic : info.spec.nics) out.nics[nic.index] = nic.ctl_path;
  return out;
}

absl::Status VmManagerDriver::Start(const Spec& spec) {
  vmm::VmSpec vm;
  vm.name = spec.name;
  vm.number = spec.number;
  vm.mem_mib = spec.mem_mib;
  vm.root_fs = spec.root_fs;
  vm.guest = spec.guest;
  vm.admin = spec.admin;
  vm.macs = spec.macs;
  for (const auto& [index, ctl_path] : spec.nics) vm.nics.push_back({index, ctl_path});
  return manager_->Start(vm);
}

absl::Status VmManagerDriver::Kill(const std::string& name) { return manager_->Kill(name); }

absl::Status VmManagerDriver::Halt(const std::string& name, absl::Duration grace) {
  return manager_->Halt(name, grace);
}

absl::Status VmManagerDriver::Reboot(const std::string& name) { return manager_->Reboot(name); }

absl::Status VmManagerDriver::AttachNic(const std::string& name, int index,
                                        const std::string& ctl_path,
                                        const std::vector<std::string>& addresses) {
  return manager_->AttachNic(name, {index, ctl_path}, addresses);
}

absl::Status VmManagerDriver::DetachNic(const std::string& name, int index) {
  return manager_->DetachNic(name, index);
}

absl::StatusOr<VmDriver::Info> VmManagerDriver::Get(const std::string& name) const {
  absl::StatusOr<vmm::VmInfo> info = manager_->Get(name);
  if (!info.ok()) return info.status();
  return ToInfo(*info);
}

std::vector<VmDriver::Info> VmManagerDriver::List() const {
  std::vector<Info> list;
  for (const vmm::VmInfo& info : manager_->List()) list.push_back(ToInfo(info));
  return list;
}

}  // namespace clownix::server
