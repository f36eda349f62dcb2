#include "switchcore/tap_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace clownix::switchcore {

absl::Status TapDevice::ValidateName(absl::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(
        absl::StrCat("tap name \"", name, "\" must be 1 to ", IFNAMSIZ - 1, " characters"));
  }
  for (char c : name) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return absl::InvalidArgumentError(
          absl::StrCat("tap name \"", name, "\" may hold only letters, digits, '_', '-', '.'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TapDevice>> TapDevice::Create(absl::string_view name) {
  if (absl::Status s = ValidateName(name); !s.ok()) return s;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == EACCES || e == EPERM) {
      return absl::PermissionDeniedError(absl::StrCat("open /dev/net/tun: ", strerror(e)));
    }
    return absl::FailedPreconditionError(absl::StrCat("open /dev/net/tun: ", strerror(e)));
  }
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int e = errno;
    close(fd);
    if (e == EPERM) {
      return absl::PermissionDeniedError(absl::StrCat("tap \"", name, "\": ", strerror(e)));
    }
    return absl::FailedPreconditionError(absl::StrCat("tap \"", name, "\": ", strerror(e),
                                                      " (is the name used by another interface?)"));
  }
  return std::unique_ptr<TapDevice>(new TapDevice(fd, std::string(name)));
}

TapDevice::~TapDevice() { close(fd_); }

}  // namespace clownix::switchcore
