// SwitchDriver: what the reconciler needs of the switch, and nothing more. clownixd runs it over
// switchcore::SwitchClient (switch_client_driver.h); tests over a fake
// (testing/fake_switch_driver.h). Not to be confused with SwitchBackend (runtime.h), which is
// what the Switch gRPC service asks of the runtime.
//
// The driver reports ports coming up (a VM's NIC did its handshake, or its MAC was learnt; a tap
// was attached) and going down as PortEvents through a callback given when it is made, from any
// thread. A restarted switch gets its LANs, ports and impairments back from the driver itself.
#ifndef CLOWNIX_SERVER_SWITCH_DRIVER_H_
#define CLOWNIX_SERVER_SWITCH_DRIVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/clownix/v1/resources.pb.h"
#include "switchcore/ctl/capture_session.h"
#include "switchcore/ctl/switch_client.h"

namespace clownix::server {

// The switch's name of the admin LAN (every VM's eth0 and the host's admin tap): not a valid
// topology name, so no user LAN can take it.
inline constexpr char kAdminLan[] = "_admin";

class SwitchDriver {
 public:
  // Plain values of switchcore's control channel: a port as the switch knows it (for a VM: its
  // data address and, once learnt, its MAC), what happened to it, and its counters.
  using Port = switchcore::SwitchClient::PortInfo;
  using PortEvent = switchcore::SwitchClient::PortEvent;
  using Counters = switchcore::SwitchClient::Counters;

  virtual ~SwitchDriver() = default;

  // Every method may be called from any thread, concurrently; requests block until the switch
  // answers. UNAVAILABLE: the switch did not answer (it may be restarting): try again later.

  // ALREADY_EXISTS / NOT_FOUND as the switch says; INVALID_ARGUMENT for a name it refuses.
  virtual absl::Status CreateLan(const std::string& lan, clownix::v1::LanMode mode) = 0;
  virtual absl::Status DeleteLan(const std::string& lan) = 0;
  // Attaches host tap `tap` (created if missing) to `lan`; returns its port id.
  virtual absl::StatusOr<uint64_t> AttachTap(const std::string& lan, const std::string& tap) = 0;
  virtual absl::Status DetachTap(uint64_t port_id) = 0;
  // Replaces the impairments of a port: `to_lan` on what it sends into its LAN, `from_lan` on
  // what the LAN delivers to it. NOT_FOUND: no such port.
  virtual absl::Status SetImpairment(uint64_t port_id, const clownix::v1::Impairment& to_lan,
                                     const clownix::v1::Impairment& from_lan) = 0;
  // Gives the switch a VM port that an earlier switch had (ports.saved): the VM, which never
  // reconnects, is reached again. Returns the port's id. NOT_FOUND: unknown LAN.
  virtual absl::StatusOr<uint64_t> RestorePort(const Port& port) = 0;

  // The control socket of `lan`, where VMs plug their NICs in.
  virtual std::string ControlPath(const std::string& lan) const = 0;
  // Ports known now; counters of one (no round trip). NOT_FOUND; UNAVAILABLE while restarting.
  virtual std::vector<Port> Ports() const = 0;
  virtual absl::StatusOr<Counters> ReadCounters(uint64_t port_id) const = 0;

  // Starts a packet capture (switchcore/ctl/capture_session.h); the caller owns the session
  // (destroying it stops the capture). INVALID_ARGUMENT for a spec the switch refuses, NOT_FOUND
  // for an unknown LAN or a port not on it, RESOURCE_EXHAUSTED when the switch runs its maximum
  // of captures.
  virtual absl::StatusOr<std::unique_ptr<switchcore::CaptureSession>> StartCapture(
      const switchcore::CaptureSpec& spec) = 0;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_SWITCH_DRIVER_H_
