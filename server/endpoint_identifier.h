// EndpointIdentifier: which topology endpoint a switch port is.
//
// The switch knows a VM's port by the VM's data address and, once the VM has sent a frame, its
// MAC; it knows no names. The rules, the most certain first:
//   - a tap's port carries the tap's name;
//   - a MAC made by the seed's rule (common/seed_rules.h) gives the VM's number and the index of
//     the interface;
//   - UML binds each NIC's data socket to an abstract name that holds the VM's main pid
//     (docs/uml-facts.md #12): the pid names the VM, and the port's LAN names the NIC, unless
//     the VM has two NICs on that LAN (then only the MAC, once learnt, does).
// A VM port on the admin LAN is that VM's eth0.
//
// Pure: it reads the topology and the running VMs it is given, and keeps nothing.
#ifndef CLOWNIX_SERVER_ENDPOINT_IDENTIFIER_H_
#define CLOWNIX_SERVER_ENDPOINT_IDENTIFIER_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/endpoint_ref.h"
#include "server/switch_driver.h"
#include "server/topology_state.h"
#include "server/vm_driver.h"
#include "switchcore/daemon_protocol.h"

namespace clownix::server {

class EndpointIdentifier {
 public:
  // `topology` and `running` (the VMs that run, with their pids) must outlive the identifier.
  EndpointIdentifier(const TopologyState& topology, const std::vector<VmDriver::Info>& running)
      : topology_(topology), running_(running) {}

  // The endpoint of `port` by the rules above; nullopt when none names it.
  std::optional<EndpointRef> Identify(const SwitchDriver::Port& port) const;

  // The NIC a seed-rule MAC names, if the topology has a VM of that number.
  std::optional<EndpointRef> ByMac(const std::array<uint8_t, 6>& mac) const;
  // The running VM whose main pid is in a UML data address.
  std::optional<std::string> VmByDataAddress(const switchcore::DataAddress& address) const;
  // The NIC of that VM on the port's LAN, when exactly one of its NICs is there.
  std::optional<EndpointRef> ByVmAddress(const SwitchDriver::Port& port) const;

  // The pid in a UML data address: an abstract name {char 0; int pid; int usecs}, laid out as
  // the C struct it is (the pid at byte 4). nullopt for a path address.
  static std::optional<int> UmlPid(const switchcore::DataAddress& address);

 private:
  const TopologyState& topology_;
  const std::vector<VmDriver::Info>& running_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_ENDPOINT_IDENTIFIER_H_
