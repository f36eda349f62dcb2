// SwitchClientDriver: clownixd's SwitchDriver, over switchcore::SwitchClient. It translates,
// nothing more: the topology's LAN modes and impairments become the control channel's.
#ifndef CLOWNIX_SERVER_SWITCH_CLIENT_DRIVER_H_
#define CLOWNIX_SERVER_SWITCH_CLIENT_DRIVER_H_

#include <memory>
#include <string>
#include <vector>

#include "server/switch_driver.h"
#include "switchcore/ctl/switch_client.h"

namespace clownix::server {

class SwitchClientDriver final : public SwitchDriver {
 public:
  // `client` must outlive the driver. Its on_port_event callback is the bootstrap's.
  explicit SwitchClientDriver(switchcore::SwitchClient* client) : client_(client) {}

  // A topology impairment in the switch's units (percentages become parts per million, kbit/s
  // bit/s).
  static switchcore::ctl::Impairment ToSwitch(const clownix::v1::Impairment& impairment);

  absl::Status CreateLan(const std::string& lan, clownix::v1::LanMode mode) override;
  absl::Status DeleteLan(const std::string& lan) override;
  absl::StatusOr<uint64_t> AttachTap(const std::string& lan, const std::string& tap) override;
  absl::Status DetachTap(uint64_t port_id) override;
  // to_lan is the port's ingress (frames the endpoint sends), from_lan its egress.
  absl::Status SetImpairment(uint64_t port_id, const clownix::v1::Impairment& to_lan,
                             const clownix::v1::Impairment& from_lan) override;
  absl::StatusOr<uint64_t> RestorePort(const Port& port) override;
  std::string ControlPath(const std::string& lan) const override;
  std::vector<Port> Ports() const override;
  absl::StatusOr<Counters> ReadCounters(uint64_t port_id) const override;
  absl::StatusOr<std::unique_ptr<switchcore::CaptureSession>> StartCapture(
      const switchcore::CaptureSpec& spec) override;

 private:
  switchcore::SwitchClient* const client_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_SWITCH_CLIENT_DRIVER_H_
