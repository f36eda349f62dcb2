// DaemonEndpoint: the VM's side of UML's daemon transport (what arch/um/drivers/daemon_user.c
// does), for tests and the benchmark: connect the control stream, bind an abstract datagram
// address with the full 110-byte length, send request_v3, read the switch's data address, then
// exchange frames with sendto/recv.
#ifndef CLOWNIX_SWITCHCORE_TESTING_DAEMON_ENDPOINT_H_
#define CLOWNIX_SWITCHCORE_TESTING_DAEMON_ENDPOINT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "switchcore/daemon_protocol.h"

namespace clownix::switchcore {

class DaemonEndpoint {
 public:
  // Does the handshake with the switch listening at `ctl_path`; `name` (unique per endpoint) is
  // the abstract name of the endpoint's data socket.
  static absl::StatusOr<std::unique_ptr<DaemonEndpoint>> Connect(const std::string& ctl_path,
                                                                 absl::string_view name);
  // An endpoint with a bound data socket and no switch (the benchmark's direct baseline).
  static absl::StatusOr<std::unique_ptr<DaemonEndpoint>> Unconnected(absl::string_view name);
  ~DaemonEndpoint();

  // Sends one frame to the switch's data address (or `peer` if set with SetPeer).
  absl::Status Send(const void* frame, size_t len);
  // Waits up to `timeout` for one frame. DEADLINE_EXCEEDED if none.
  absl::StatusOr<size_t> Receive(void* buf, size_t cap, absl::Duration timeout);
  void SetPeer(const DataAddress& peer) { peer_ = peer; }
  void CloseControl();

  int data_fd() const { return data_fd_; }
  const DataAddress& address() const { return address_; }
  const DataAddress& peer() const { return peer_; }

 private:
  DaemonEndpoint() = default;
  int ctl_fd_ = -1;
  int data_fd_ = -1;
  DataAddress address_{};
  DataAddress peer_{};
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_TESTING_DAEMON_ENDPOINT_H_
