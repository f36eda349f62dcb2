// VmDriver: what the reconciler needs of the VM runtime, and nothing more. clownixd runs it over
// vmm::VmManager (vm_manager_driver.h); tests over a fake (testing/fake_vm_driver.h), so the
// reconciler's rules run without User-Mode-Linux.
//
// The driver reports what happens to VMs (booting, answering, ending) as Events through a
// callback given when it is made, from any thread (for a Start, possibly before Start returns).
#ifndef CLOWNIX_SERVER_VM_DRIVER_H_
#define CLOWNIX_SERVER_VM_DRIVER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/guest_config.h"
#include "proto/clownix/v1/resources.pb.h"

namespace clownix::server {

class VmDriver {
 public:
  // A VM to boot. `nics`: interface index (0 for eth0, the admin NIC if `admin`) -> the control
  // socket of the LAN it plugs into (SwitchDriver::ControlPath). `root_fs`: the file of its image
  // (Vm.image), an absolute path; empty: the runtime's default root file system.
  struct Spec {
    std::string name;
    int number = 0;
    int mem_mib = 0;
    std::map<int, std::string> nics;
    // Whether nics[0] is the admin NIC (the guest configures its admin IP there), or eth0 a lab
    // NIC (Vm.admin false).
    bool admin = true;
    // MACs chosen for NICs (Vm.nic_macs, checked by the rules); the others get the seed's.
    std::map<int, std::string> macs;
    std::string root_fs;
    // What the guest sets up at every boot (Vm.guest, checked: server/guest_config_proto.h).
    common::GuestConfig guest;
  };

  // A VM that runs. `state`: VM_STATE_BOOTING until its guest agent answers, then
  // VM_STATE_RUNNING. `nics` as in Spec: those it has now (hot-plugged ones included).
  struct Info {
    std::string name;
    clownix::v1::VmState state = clownix::v1::VM_STATE_BOOTING;
    int pid = 0;  // the main pid of the VM's process (UML names its NICs' data sockets after it)
    std::map<int, std::string> nics;
  };

  // A change of a VM's state: VM_STATE_BOOTING, VM_STATE_RUNNING, or VM_STATE_STOPPED /
  // VM_STATE_CRASHED (ended; `reason` says how).
  // With VM_STATE_RUNNING, `startup` set: the guest's startup finished (once per boot, after the
  // RUNNING that started it).
  struct Event {
    std::string name;
    clownix::v1::VmState state = clownix::v1::VM_STATE_UNSPECIFIED;
    std::string reason;
    std::optional<clownix::v1::StartupStatus> startup;
  };

  virtual ~VmDriver() = default;

  // Every method may be called from any thread, concurrently. Those that act on a VM block
  // until it is done (Kill and Halt until the VM is gone). NOT_FOUND: no such VM.

  // Boots a VM; OK once its process runs. INVALID_ARGUMENT, ALREADY_EXISTS, FAILED_PRECONDITION
  // (e.g. a LAN's control socket is missing), UNAVAILABLE / INTERNAL (could not start it).
  virtual absl::Status Start(const Spec& spec) = 0;
  // Ends it at once.
  virtual absl::Status Kill(const std::string& name) = 0;
  // Powers it off, killing it once `grace` has passed.
  virtual absl::Status Halt(const std::string& name, absl::Duration grace) = 0;
  // Reboots it in place (it is BOOTING again).
  virtual absl::Status Reboot(const std::string& name) = 0;
  // Hot-plugs NIC `index` on the LAN of `ctl_path` / unplugs it. FAILED_PRECONDITION: the VM is
  // not RUNNING (or no LAN listens at `ctl_path`); ALREADY_EXISTS / NOT_FOUND for the NIC. A NIC
  // plugged in exists in the guest, with `addresses` (CIDRs) set, when AttachNic returns; an
  // address the guest refuses is FAILED_PRECONDITION (the NIC stays).
  virtual absl::Status AttachNic(const std::string& name, int index, const std::string& ctl_path,
                                 const std::vector<std::string>& addresses) = 0;
  virtual absl::Status DetachNic(const std::string& name, int index) = 0;

  // The VMs that run now. Cheap; never blocks on a VM.
  virtual absl::StatusOr<Info> Get(const std::string& name) const = 0;
  virtual std::vector<Info> List() const = 0;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_VM_DRIVER_H_
