#include "switchcore/testing/daemon_endpoint.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace clownix::switchcore {

absl::StatusOr<std::unique_ptr<DaemonEndpoint>> DaemonEndpoint::Unconnected(
    absl::string_view name) {
  auto ep = std::unique_ptr<DaemonEndpoint>(new DaemonEndpoint());
  ep->address_ = AbstractAddress(name);
  ep->data_fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (ep->data_fd_ < 0) return absl::InternalError(strerror(errno));
  if (bind(ep->data_fd_, reinterpret_cast<const sockaddr*>(&ep->address_.addr),
           sizeof(ep->address_.addr)) != 0) {
    return absl::InternalError(
        absl::StrCat("bind ", AddressToString(ep->address_), ": ", strerror(errno)));
  }
  return ep;
}

absl::StatusOr<std::unique_ptr<DaemonEndpoint>> DaemonEndpoint::Connect(const std::string& ctl_path,
                                                                        absl::string_view name) {
  absl::StatusOr<std::unique_ptr<DaemonEndpoint>> ep = Unconnected(name);
  if (!ep.ok()) return ep.status();
  DaemonEndpoint& e = **ep;
  e.ctl_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un ctl = {};
  ctl.sun_family = AF_UNIX;
  std::strncpy(ctl.sun_path, ctl_path.c_str(), sizeof(ctl.sun_path) - 1);
  if (connect(e.ctl_fd_, reinterpret_cast<sockaddr*>(&ctl), sizeof(ctl)) != 0) {
    return absl::UnavailableError(absl::StrCat("connect ", ctl_path, ": ", strerror(errno)));
  }
  uint8_t req[kRequestSize];
  BuildRequest(e.address_, req);
  if (send(e.ctl_fd_, req, sizeof(req), MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof(req))) {
    return absl::UnavailableError(absl::StrCat("write request: ", strerror(errno)));
  }
  struct pollfd pfd = {e.ctl_fd_, POLLIN, 0};
  if (poll(&pfd, 1, 5000) != 1) return absl::DeadlineExceededError("no handshake reply");
  uint8_t reply[kReplySize];
  ssize_t n = read(e.ctl_fd_, reply, sizeof(reply));
  if (n != static_cast<ssize_t>(sizeof(reply))) {
    return absl::UnavailableError(absl::StrCat("handshake reply is ", n, " bytes"));
  }
  absl::StatusOr<DataAddress> peer = ParseDataAddress(reply);
  if (!peer.ok()) return peer.status();
  e.peer_ = *peer;
  return ep;
}

DaemonEndpoint::~DaemonEndpoint() {
  if (ctl_fd_ >= 0) close(ctl_fd_);
  if (data_fd_ >= 0) close(data_fd_);
}

void DaemonEndpoint::CloseControl() {
  if (ctl_fd_ >= 0) close(ctl_fd_);
  ctl_fd_ = -1;
}

absl::Status DaemonEndpoint::Send(const void* frame, size_t len) {
  ssize_t n = sendto(data_fd_, frame, len, MSG_DONTWAIT,
                     reinterpret_cast<const sockaddr*>(&peer_.addr), sizeof(peer_.addr));
  if (n != static_cast<ssize_t>(len)) {
    return absl::UnavailableError(absl::StrCat("sendto: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> DaemonEndpoint::Receive(void* buf, size_t cap, absl::Duration timeout) {
  struct pollfd pfd = {data_fd_, POLLIN, 0};
  int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  int r = poll(&pfd, 1, ms);
  if (r == 0) return absl::DeadlineExceededError("no frame");
  if (r < 0) return absl::InternalError(strerror(errno));
  ssize_t n = recv(data_fd_, buf, cap, MSG_DONTWAIT);
  if (n < 0) return absl::InternalError(strerror(errno));
  return static_cast<size_t>(n);
}

}  // namespace clownix::switchcore
