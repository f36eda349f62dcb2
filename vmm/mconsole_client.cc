#include "vmm/mconsole_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/unique_fd.h"

namespace clownix::vmm {

absl::StatusOr<mconsole_wire::Request> MconsoleClient::EncodeRequest(absl::string_view command) {
  if (command.empty() || command.size() > mconsole_wire::kMaxData) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "mconsole command of %d bytes (must be 1..%d)", command.size(), mconsole_wire::kMaxData));
  }
  mconsole_wire::Request request;
  memset(&request, 0, sizeof(request));
  request.magic = mconsole_wire::kMagic;
  request.version = mconsole_wire::kVersion;
  request.len = command.size();
  memcpy(request.data, command.data(), command.size());
  return request;
}

absl::StatusOr<std::string> MconsoleClient::DecodeReply(absl::string_view datagram, bool* more,
                                                        bool* error) {
  constexpr size_t kHeader = offsetof(mconsole_wire::Reply, data);
  if (datagram.size() < kHeader) {
    return absl::InternalError(absl::StrCat("mconsole reply of ", datagram.size(), " bytes"));
  }
  mconsole_wire::Reply reply;
  memcpy(&reply, datagram.data(), kHeader);
  if (reply.len > mconsole_wire::kMaxData || kHeader + reply.len > datagram.size()) {
    return absl::InternalError(absl::StrFormat("mconsole reply claims %u bytes in a %d datagram",
                                               reply.len, datagram.size()));
  }
  *more = reply.more != 0;
  *error = reply.err != 0;
  std::string text(datagram.substr(kHeader, reply.len));
  // UML includes the terminating NUL in len.
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

absl::StatusOr<MconsoleClient::Notification> MconsoleClient::DecodeNotify(
    absl::string_view datagram) {
  constexpr size_t kHeader = offsetof(mconsole_wire::Notify, data);
  if (datagram.size() < kHeader) {
    return absl::InvalidArgumentError("short mconsole notification");
  }
  mconsole_wire::Notify notify;
  memcpy(&notify, datagram.data(), kHeader);
  if (notify.magic != mconsole_wire::kMagic || notify.len < 0 ||
      static_cast<size_t>(notify.len) > datagram.size() - kHeader ||
      notify.type < mconsole_wire::kNotifySocket || notify.type > mconsole_wire::kNotifyUser) {
    return absl::InvalidArgumentError("malformed mconsole notification");
  }
  Notification n;
  n.type = static_cast<mconsole_wire::NotifyType>(notify.type);
  n.data.assign(datagram.data() + kHeader, notify.len);
  while (!n.data.empty() && (n.data.back() == '\0' || n.data.back() == '\n')) n.data.pop_back();
  return n;
}

absl::StatusOr<std::string> MconsoleClient::Send(absl::string_view socket_path,
                                                 absl::string_view command,
                                                 absl::Duration timeout) {
  absl::StatusOr<mconsole_wire::Request> request = EncodeRequest(command);
  if (!request.ok()) return request.status();
  sockaddr_un to = {};
  to.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(to.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("mconsole path too long: ", socket_path));
  }
  memcpy(to.sun_path, socket_path.data(), socket_path.size());

  common::UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return absl::ErrnoToStatus(errno, "mconsole socket");
  // UML replies to the sender's address, so bind one: abstract, random, nothing to clean up.
  sockaddr_un me = {};
  me.sun_family = AF_UNIX;
  static thread_local absl::BitGen gen;
  std::string name =
      absl::StrFormat("clownix-mconsole-%d-%016x", getpid(), absl::Uniform<uint64_t>(gen));
  memcpy(me.sun_path + 1, name.data(), name.size());
  socklen_t me_len = offsetof(sockaddr_un, sun_path) + 1 + name.size();
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&me), me_len) != 0) {
    return absl::ErrnoToStatus(errno, "mconsole bind");
  }
  const size_t request_size = offsetof(mconsole_wire::Request, data) + request->len;
  if (sendto(fd.get(), &*request, request_size, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) !=
      static_cast<ssize_t>(request_size)) {
    return absl::UnavailableError(absl::StrFormat("mconsole %s: %s", socket_path, strerror(errno)));
  }
  const absl::Time deadline = absl::Now() + timeout;
  std::string text;
  for (;;) {
    int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    pollfd p = {fd.get(), POLLIN, 0};
    int ready = wait_ms > 0 ? poll(&p, 1, wait_ms) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      return absl::DeadlineExceededError(
          absl::StrFormat("mconsole %s: no reply to \"%s\"", socket_path, command));
    }
    char buffer[sizeof(mconsole_wire::Reply)];
    ssize_t n = recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("mconsole recv: ", strerror(errno)));
    }
    bool more = false;
    bool error = false;
    absl::StatusOr<std::string> part = DecodeReply(absl::string_view(buffer, n), &more, &error);
    if (!part.ok()) return part.status();
    text += *part;
    if (text.size() > kMaxReplyBytes) {
      return absl::InternalError(
          absl::StrFormat("mconsole %s: the reply to \"%s\" exceeds %d bytes", socket_path, command,
                          kMaxReplyBytes));
    }
    if (error) {
      return absl::FailedPreconditionError(
          absl::StrFormat("mconsole \"%s\" failed: %s", command, text));
    }
    if (!more) return text;
  }
}

}  // namespace clownix::vmm
