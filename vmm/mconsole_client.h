// A client for one VM's management console (wire format: mconsole_wire.h).
#ifndef CLOWNIX_VMM_MCONSOLE_CLIENT_H_
#define CLOWNIX_VMM_MCONSOLE_CLIENT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "vmm/mconsole_wire.h"

namespace clownix::vmm {

// Stateless: every Send opens, binds (abstract address) and closes its own socket, so
// concurrent calls from any thread are safe.
class MconsoleClient {
 public:
  // The longest reply text Send accepts (clownix's commands get a line or two).
  static constexpr size_t kMaxReplyBytes = 64 * 1024;

  // Sends `command` to the mconsole socket at `socket_path` and returns the reply text.
  // INVALID_ARGUMENT: command longer than 512 bytes or path too long; UNAVAILABLE: socket
  // missing or refused (VM not running, or rebooting); DEADLINE_EXCEEDED: no complete reply
  // within `timeout`; FAILED_PRECONDITION: the VM answered with an error (message = its text);
  // INTERNAL: malformed reply, or one longer than kMaxReplyBytes.
  static absl::StatusOr<std::string> Send(absl::string_view socket_path, absl::string_view command,
                                          absl::Duration timeout = absl::Seconds(5));

  // Wire helpers, public for tests.
  static absl::StatusOr<mconsole_wire::Request> EncodeRequest(absl::string_view command);
  // Parses one reply datagram. Sets *more and *error from the header, returns its text.
  static absl::StatusOr<std::string> DecodeReply(absl::string_view datagram, bool* more,
                                                 bool* error);
  // Parses a notification datagram.
  struct Notification {
    mconsole_wire::NotifyType type;
    std::string data;
  };
  static absl::StatusOr<Notification> DecodeNotify(absl::string_view datagram);
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_MCONSOLE_CLIENT_H_
