#include "server/endpoint_identifier.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "common/seed_rules.h"

namespace clownix::server {

std::optional<EndpointRef> EndpointIdentifier::Identify(const SwitchDriver::Port& port) const {
  if (port.kind == switchcore::ctl::PortKind::kTap) return EndpointRef::Tap(port.tap_name);
  if (port.mac_known) return ByMac(port.mac);
  if (port.lan == kAdminLan) {
    std::optional<std::string> vm = VmByDataAddress(port.vm_address);
    if (!vm) return std::nullopt;
    return EndpointRef::Nic(*vm, 0);
  }
  return ByVmAddress(port);
}

std::optional<EndpointRef> EndpointIdentifier::ByMac(const std::array<uint8_t, 6>& mac) const {
  std::optional<common::VmNic> nic = common::ParseVmMac(mac);
  if (!nic) {  // a MAC a VM chose (Vm.nic_macs): the rules keep them unique
    const std::string text = absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
                                             mac[2], mac[3], mac[4], mac[5]);
    for (const auto& [name, vm] : topology_.vms()) {
      for (const auto& [index, chosen] : vm.nic_macs()) {
        if (chosen == text) return EndpointRef::Nic(name, static_cast<int>(index));
      }
    }
  }
  if (!nic) return std::nullopt;
  // VM numbers are unique in the topology; a scan is cheap next to a port coming up.
  for (const auto& [name, vm] : topology_.vms()) {
    if (static_cast<int>(vm.number()) == nic->vm) return EndpointRef::Nic(name, nic->eth);
  }
  return std::nullopt;
}

std::optional<std::string> EndpointIdentifier::VmByDataAddress(
    const switchcore::DataAddress& address) const {
  std::optional<int> pid = UmlPid(address);
  if (!pid) return std::nullopt;
  for (const VmDriver::Info& vm : running_) {
    if (vm.pid == *pid) return vm.name;
  }
  return std::nullopt;
}

std::optional<EndpointRef> EndpointIdentifier::ByVmAddress(const SwitchDriver::Port& port) const {
  std::optional<std::string> vm = VmByDataAddress(port.vm_address);
  if (!vm) return std::nullopt;
  const clownix::v1::Vm* found = topology_.FindVm(*vm);
  if (!found) return std::nullopt;
  std::optional<EndpointRef> nic;
  for (const clownix::v1::Nic& candidate : found->nics()) {
    if ((candidate.index() == 0 && found->admin()) || candidate.lan() != port.lan) continue;
    if (nic) return std::nullopt;  // two NICs on that LAN: only the MAC tells them apart
    nic = EndpointRef::Nic(*vm, static_cast<int>(candidate.index()));
  }
  return nic;
}

std::optional<int> EndpointIdentifier::UmlPid(const switchcore::DataAddress& address) {
  if (!address.IsAbstract()) return std::nullopt;
  int pid = 0;
  std::memcpy(&pid, address.addr.sun_path + 4, sizeof(pid));
  return pid;
}

}  // namespace clownix::server
