// FakeSwitchDriver: a SwitchDriver with no switch behind it, for unit tests of what drives the
// switch. A test makes VM ports come up (a NIC's handshake, a MAC learnt) and go down, restarts
// the switch, makes requests fail, and reads what the switch holds. Port events go to the
// callback given at construction, on the calling thread, with no lock held: AttachTap and
// DetachTap report their port up / down as the real switch does; RestorePort reports nothing.
//
// Thread-safety: every method may be called from any thread.
#ifndef CLOWNIX_SERVER_TESTING_FAKE_SWITCH_DRIVER_H_
#define CLOWNIX_SERVER_TESTING_FAKE_SWITCH_DRIVER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/switch_driver.h"
#include "server/testing/failure_script.h"
#include "server/testing/fake_capture.h"

namespace clownix::server::testing {

class FakeSwitchDriver final : public SwitchDriver {
 public:
  // What the switch holds.
  struct State {
    std::map<std::string, clownix::v1::LanMode> lans;
    std::map<uint64_t, Port> ports;  // by port id
    // Impairments (to_lan, from_lan) of each port that has had them set.
    std::map<uint64_t, std::pair<clownix::v1::Impairment, clownix::v1::Impairment>> impairments;
  };

  explicit FakeSwitchDriver(std::function<void(const PortEvent&)> on_event)
      : on_event_(std::move(on_event)) {}

  // SwitchDriver. Control paths are /fake/lans/LAN/ctl.
  absl::Status CreateLan(const std::string& lan, clownix::v1::LanMode mode) override;
  absl::Status DeleteLan(const std::string& lan) override;
  absl::StatusOr<uint64_t> AttachTap(const std::string& lan, const std::string& tap) override;
  absl::Status DetachTap(uint64_t port_id) override;
  absl::Status SetImpairment(uint64_t port_id, const clownix::v1::Impairment& to_lan,
                             const clownix::v1::Impairment& from_lan) override;
  absl::StatusOr<uint64_t> RestorePort(const Port& port) override;
  std::string ControlPath(const std::string& lan) const override;
  std::vector<Port> Ports() const override;
  absl::StatusOr<Counters> ReadCounters(uint64_t port_id) const override;
  // A FakeCapture (captures()) for a spec on a LAN the switch has, naming a port of that LAN
  // (or port 0); NOT_FOUND otherwise. Removing the port, deleting the LAN or restarting the
  // switch ends its captures (ABORTED, NOT_FOUND, UNAVAILABLE).
  absl::StatusOr<std::unique_ptr<switchcore::CaptureSession>> StartCapture(
      const switchcore::CaptureSpec& spec) override;

  // Scripting. The next `times` calls (times < 0: all of them; 0: none, ending the script) fail
  // with `status`.
  void FailCreateLan(const std::string& lan, absl::Status status, int times = -1);
  void FailAttachTap(const std::string& tap, absl::Status status, int times = -1);
  void FailSetImpairment(absl::Status status, int times = -1);
  void FailStartCapture(absl::Status status, int times = -1);
  // A VM's NIC connects to `lan` from `address`: a new port, up. With `mac`, as if the VM had
  // also sent a frame. Returns the port's id.
  uint64_t ConnectVm(const std::string& lan, const switchcore::DataAddress& address,
                     std::optional<std::array<uint8_t, 6>> mac = std::nullopt);
  // The port learns its VM's MAC: up again, same id.
  void LearnMac(uint64_t port_id, const std::array<uint8_t, 6>& mac);
  // The port goes away (its VM is gone): down.
  void RemovePort(uint64_t port_id, const std::string& reason = "peer gone");
  // The switch restarted and its ports came back under new ids without their impairments:
  // each port goes down, then comes up again.
  void Restart();

  // What happened.
  int create_lan_calls(const std::string& lan) const;
  int set_impairment_calls() const;
  State state() const;
  // Every capture started, in order.
  std::vector<std::shared_ptr<FakeCapture>> captures() const;
  // The port of tap `tap`, if attached.
  std::optional<Port> TapPort(const std::string& tap) const;
  // Blocks until `condition` holds of the switch or `timeout` passes; whether it holds.
  bool WaitUntil(const std::function<bool(const State&)>& condition, absl::Duration timeout) const;

 private:
  void Deliver(const std::vector<PortEvent>& events);

  const std::function<void(const PortEvent&)> on_event_;
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_);
  uint64_t next_port_id_ ABSL_GUARDED_BY(mu_) = 1;
  FailureScript script_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<FakeCapture>> captures_ ABSL_GUARDED_BY(mu_);
};

}  // namespace clownix::server::testing

#endif  // CLOWNIX_SERVER_TESTING_FAKE_SWITCH_DRIVER_H_
