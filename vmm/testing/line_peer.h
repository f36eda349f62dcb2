// Test helpers for code that talks over a VM's lines without a VM: the far end of a line
// (LinePeer: what the guest would read and write) and a stand-in for the event loop
// (ReadablePump: calls a function whenever a descriptor is readable).
#ifndef CLOWNIX_VMM_TESTING_LINE_PEER_H_
#define CLOWNIX_VMM_TESTING_LINE_PEER_H_

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace clownix::vmm::testing {

// The guest's end of a line: `fd` is not owned.
class LinePeer {
 public:
  explicit LinePeer(int fd) : fd_(fd) {}

  // The next '\n'-terminated line (without it), skipping empty ones; nullopt if none arrives by
  // `timeout` or the line closes.
  std::optional<std::string> ReadLine(absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time deadline = absl::Now() + timeout;
    for (;;) {
      size_t nl;
      while ((nl = buffer_.find('\n')) != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (!line.empty()) return line;
      }
      const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (left_ms <= 0) return std::nullopt;
      pollfd p = {fd_, POLLIN, 0};
      int ready = poll(&p, 1, static_cast<int>(left_ms));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return std::nullopt;
      char chunk[4096];
      ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  bool Write(absl::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  const int fd_;
  std::string buffer_;
};

// Calls `on_readable(hangup)` on its own thread whenever `fd` is readable (or hung up), until
// destroyed or `on_readable` returns false.
class ReadablePump {
 public:
  ReadablePump(int fd, std::function<bool(bool hangup)> on_readable)
      : stop_(eventfd(0, EFD_CLOEXEC)), thread_([this, fd, on_readable] {
          for (;;) {
            pollfd p[2] = {{fd, POLLIN, 0}, {stop_, POLLIN, 0}};
            if (poll(p, 2, -1) < 0) {
              if (errno == EINTR) continue;
              return;
            }
            if (p[1].revents) return;
            if (!on_readable((p[0].revents & (POLLHUP | POLLERR)) != 0)) return;
          }
        }) {}
  ~ReadablePump() {
    uint64_t one = 1;
    ssize_t n = write(stop_, &one, sizeof(one));
    (void)n;  // An eventfd write of 1 cannot fail here.
    thread_.join();
    close(stop_);
  }

 private:
  const int stop_;
  std::thread thread_;
};

}  // namespace clownix::vmm::testing

#endif  // CLOWNIX_VMM_TESTING_LINE_PEER_H_
