// CaptureManager: starts the Switch service's packet captures (SwitchBackend::StartCapture) and
// tells each when its target left the topology.
//
// Starting one: the request is checked (snaplen, format, names), its filter compiled
// (bpf_filter_compiler.h), its target resolved against the topology (the LAN a NIC or tap is
// connected to; eth0 is on the admin LAN), then against the switch's ports: a NIC or tap whose
// port is up is captured by port id; a NIC whose port is not up yet (its VM does not run) by the
// MAC the seed's rule gives it (common/seed_rules.h), so the capture binds to the port when the
// VM first sends, and shows its first frames. A LAN is captured whole.
//
// Ending: the manager watches the store's events (a WatchSubscriber). A capture whose VM or tap
// is deleted, whose NIC is disconnected or moved to another LAN, or whose LAN is deleted gets a
// non-OK TopologyStatus; its reader ends it. The switch's session alone would not say so for a
// NIC that never came up. Gap-free: a capture is registered before its target is read from the
// store, and events the read already reflects (revision <= the read's) are ignored.
//
// Thread-safety: every method may be called from any thread. Captures may outlive the manager
// (their TopologyStatus then stays as it was, UNAVAILABLE after Shutdown).
#ifndef CLOWNIX_SERVER_CAPTURE_MANAGER_H_
#define CLOWNIX_SERVER_CAPTURE_MANAGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/clownix/v1/switch.pb.h"
#include "server/endpoint_ref.h"
#include "server/runtime.h"
#include "server/switch_driver.h"
#include "server/topology_store.h"
#include "server/watch_hub.h"

namespace clownix::server {

class CaptureManager final : public WatchSubscriber {
 public:
  // The endpoint a switch port is (Reconciler::IdentifyPort).
  using PortIdentifier = std::function<std::optional<EndpointRef>(const SwitchDriver::Port&)>;

  // `store` and `sw` must outlive the manager. Subscribes to the store's watch hub.
  CaptureManager(TopologyStore* store, SwitchDriver* sw, PortIdentifier identify);
  // Shutdown().
  ~CaptureManager() override;

  // Switch.Capture's start (switch.proto lists the errors). Blocks on the switch.
  absl::StatusOr<std::unique_ptr<SwitchBackend::Capture>> Start(
      const clownix::v1::CaptureRequest& request);

  // clownixd is stopping: every capture's TopologyStatus becomes UNAVAILABLE, new ones are
  // refused. Unsubscribes. Idempotent.
  void Shutdown();

  // WatchSubscriber.
  void OnEvents(const std::vector<EventPtr>& events) override;
  void OnTick(absl::Time now, uint64_t revision) override {}
  void OnHubShutdown() override;

  // What a capture captures, by name, and whether it is still there. Public for the
  // implementation's helpers only.
  struct Watched;
  struct Registry;

 private:
  TopologyStore* const store_;
  SwitchDriver* const sw_;
  const PortIdentifier identify_;
  const std::shared_ptr<Registry> registry_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_CAPTURE_MANAGER_H_
