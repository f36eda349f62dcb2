#include "switchcore/handshake.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace clownix::switchcore {

Handshake::~Handshake() {
  if (fd_ >= 0) close(fd_);
}

int Handshake::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

absl::StatusOr<bool> Handshake::OnReadable() {
  while (got_ < kRequestSize) {
    // Read only what the request still needs: whatever follows (vde's description) stays unread.
    ssize_t n = recv(fd_, buf_ + got_, kRequestSize - got_, MSG_DONTWAIT);
    if (n == 0) {
      return absl::UnavailableError(
          absl::StrCat("peer closed after ", got_, " of ", kRequestSize, " request bytes"));
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return false;
      return absl::UnavailableError(absl::StrCat("control stream: ", strerror(errno)));
    }
    got_ += n;
  }
  absl::StatusOr<DataAddress> addr = ParseRequest(absl::MakeConstSpan(buf_, kRequestSize));
  if (!addr.ok()) return addr.status();
  address_ = *addr;
  return true;
}

absl::Status Handshake::SendReply(const DataAddress& reply) {
  ssize_t n = send(fd_, &reply.addr, kReplySize, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(kReplySize)) {
    return absl::UnavailableError(
        absl::StrCat("reply not sent: ", n < 0 ? strerror(errno) : "short write"));
  }
  return absl::OkStatus();
}

}  // namespace clownix::switchcore
