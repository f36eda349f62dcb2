// Handshake: the switch's side of one daemon-protocol control connection until the request has
// been read. It accumulates bytes from a non-blocking stream socket until it has the 124-byte
// request_v3, then parses it. States: reading -> done (address()) | failed (status).
// A peer that sends less and goes quiet is ended by the owner through `deadline_ns`.
#ifndef CLOWNIX_SWITCHCORE_HANDSHAKE_H_
#define CLOWNIX_SWITCHCORE_HANDSHAKE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "switchcore/daemon_protocol.h"

namespace clownix::switchcore {

class Handshake {
 public:
  // `fd` is a connected, non-blocking stream socket; the Handshake owns it until Release().
  Handshake(int fd, int64_t deadline_ns) : fd_(fd), deadline_ns_(deadline_ns) {}
  ~Handshake();
  Handshake(const Handshake&) = delete;
  Handshake& operator=(const Handshake&) = delete;

  // Reads what is available. Returns true once the request is complete and valid (then
  // address() is set); false if more bytes are needed. INVALID_ARGUMENT for a malformed request,
  // UNAVAILABLE if the peer closed or the socket failed. Bytes after the request are left unread.
  absl::StatusOr<bool> OnReadable();

  // Sends `reply` (the switch's data address, 110 bytes). UNAVAILABLE if it cannot be written
  // whole at once (a fresh stream's buffer always holds it).
  absl::Status SendReply(const DataAddress& reply);

  const DataAddress& address() const { return address_; }
  int fd() const { return fd_; }
  int64_t deadline_ns() const { return deadline_ns_; }
  // Gives up ownership of the socket (it becomes the port's control stream).
  int Release();

 private:
  int fd_;
  int64_t deadline_ns_;
  uint8_t buf_[kRequestSize];
  size_t got_ = 0;
  DataAddress address_{};
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_HANDSHAKE_H_
