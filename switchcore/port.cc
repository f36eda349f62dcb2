#include "switchcore/port.h"

#include <unistd.h>

namespace clownix::switchcore {

Port::~Port() {
  if (kind_ == ctl::PortKind::kVm && fd >= 0) close(fd);  // a tap's fd belongs to `tap`
  if (ctl_fd >= 0) close(ctl_fd);
}

}  // namespace clownix::switchcore
