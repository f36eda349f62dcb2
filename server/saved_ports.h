// SavedPorts: the VM ports of the switch, kept in a file of the work dir so that a clownixd
// restarted after a crash can give a new switch the ports of the old one.
//
// UML never reconnects to a switch: a VM keeps sending to the data address it was given at its
// NIC's handshake. The switch derives that address from the VM's own address, which only the
// handshake told it. Without this file, a clownixd killed with SIGKILL (its switch goes with it)
// would come back with VMs it can adopt but not reach. One line per port:
//   PORT_ID LAN MAC|- HEX(VM_ADDRESS)
// rewritten atomically and durably (common::WriteFileDurably) on every change; ports change only
// when NICs come and go.
#ifndef CLOWNIX_SERVER_SAVED_PORTS_H_
#define CLOWNIX_SERVER_SAVED_PORTS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "switchcore/ctl/switch_client.h"

namespace clownix::server {

class SavedPorts {
 public:
  explicit SavedPorts(std::string path) : path_(std::move(path)) {}

  // Reads the file (missing: none). Lines that do not parse are skipped: a port lost that way
  // only costs that VM's traffic until its NIC is plugged again. Errors: the file cannot be read
  // (as errno maps them; no port is loaded then).
  absl::Status Load();
  const std::map<uint64_t, switchcore::SwitchClient::PortInfo>& ports() const { return ports_; }

  // Record or forget a VM port, and rewrite the file. Errors come from the file system.
  absl::Status Put(const switchcore::SwitchClient::PortInfo& port);
  absl::Status Erase(uint64_t port_id);

 private:
  absl::Status Write() const;

  const std::string path_;
  std::map<uint64_t, switchcore::SwitchClient::PortInfo> ports_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_SAVED_PORTS_H_
