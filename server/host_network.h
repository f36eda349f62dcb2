// HostNetwork: the host's side of the admin LAN. The switch attaches a tap (`clownix0`) to the
// admin LAN; this gives the tap the host's admin address and brings it up, in a network
// namespace when asked, with iproute2's `ip` (and `nsenter` for a namespace named by a pid).
#ifndef CLOWNIX_SERVER_HOST_NETWORK_H_
#define CLOWNIX_SERVER_HOST_NETWORK_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace clownix::server {

class HostNetwork {
 public:
  // Runs a command to completion: OK when it exits with status 0, else UNAVAILABLE naming the
  // command and its output (common::RunChecked). A seam for tests.
  using Runner = std::function<absl::Status(const std::vector<std::string>& argv)>;

  // Runs commands with common::RunChecked.
  HostNetwork();
  explicit HostNetwork(Runner runner) : run_(std::move(runner)) {}

  struct AdminTap {
    std::string tap;      // the host interface the switch attached to the admin LAN
    std::string address;  // the host's admin address, e.g. "10.0.0.1" (netmask 255.0.0.0)
    // "" for the host's namespace; else a name from `ip netns add`, or the pid of a process in
    // the namespace. The tap is moved there first.
    std::string netns;
  };

  // Moves the tap to its namespace, sets its address (replacing one left by an earlier run) and
  // brings it up. Errors: the first command that failed (UNAVAILABLE), or the runner's own.
  // Blocks on the commands; thread-safe.
  absl::Status ConfigureAdminTap(const AdminTap& admin) const;

 private:
  const Runner run_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_HOST_NETWORK_H_
