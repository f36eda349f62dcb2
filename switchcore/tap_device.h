// TapDevice: a host tap interface (/dev/net/tun, IFF_TAP | IFF_NO_PI) opened non-blocking. The
// device is created if no interface has that name, or attached to if a persistent tap exists.
#ifndef CLOWNIX_SWITCHCORE_TAP_DEVICE_H_
#define CLOWNIX_SWITCHCORE_TAP_DEVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::switchcore {

class TapDevice {
 public:
  // INVALID_ARGUMENT for a bad name (1..15 chars of [A-Za-z0-9_.-]); FAILED_PRECONDITION if the
  // name is taken by a non-tap interface or a busy tap; PERMISSION_DENIED without CAP_NET_ADMIN.
  static absl::StatusOr<std::unique_ptr<TapDevice>> Create(absl::string_view name);
  static absl::Status ValidateName(absl::string_view name);

  ~TapDevice();
  TapDevice(const TapDevice&) = delete;
  TapDevice& operator=(const TapDevice&) = delete;

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }

 private:
  TapDevice(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  int fd_;
  std::string name_;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_TAP_DEVICE_H_
