// VmManagerDriver: clownixd's VmDriver, over vmm::VmManager. It translates, nothing more: vmm's
// states become the topology's, NIC lists become index -> control path maps.
#ifndef CLOWNIX_SERVER_VM_MANAGER_DRIVER_H_
#define CLOWNIX_SERVER_VM_MANAGER_DRIVER_H_

#include <string>
#include <vector>

#include "server/vm_driver.h"
#include "vmm/vm_manager.h"

namespace clownix::server {

class VmManagerDriver final : public VmDriver {
 public:
  // `manager` must outlive the driver. Its on_state_change callback is the bootstrap's: it
  // passes ToEvent of each vmm event on.
  explicit VmManagerDriver(vmm::VmManager* manager) : manager_(manager) {}

  static Event ToEvent(const vmm::VmEvent& event);
  static clownix::v1::VmState ToState(vmm::VmState state);

  absl::Status Start(const Spec& spec) override;
  absl::Status Kill(const std::string& name) override;
  absl::Status Halt(const std::string& name, absl::Duration grace) override;
  absl::Status Reboot(const std::string& name) override;
  absl::Status AttachNic(const std::string& name, int index, const std::string& ctl_path,
                         const std::vector<std::string>& addresses) override;
  absl::Status DetachNic(const std::string& name, int index) override;
  absl::StatusOr<Info> Get(const std::string& name) const override;
  std::vector<Info> List() const override;

 private:
  static Info ToInfo(const vmm::VmInfo& info);

  vmm::VmManager* const manager_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_VM_MANAGER_DRIVER_H_
