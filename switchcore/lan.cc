#include "switchcore/lan.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace clownix::switchcore {
namespace {

constexpr mode_t kDirMode = 0711;
constexpr mode_t kSocketMode = 0666;

}  // namespace

absl::Status Lan::ValidateName(absl::string_view name) {
  if (name.empty() || name.size() >= ctl::kLanNameSize || name == "." || name == "..") {
    return absl::InvalidArgumentError(absl::StrCat("lan name \"", name, "\" must be 1 to ",
                                                   ctl::kLanNameSize - 1, " characters"));
  }
  for (char c : name) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return absl::InvalidArgumentError(
          absl::StrCat("lan name \"", name, "\" may hold only letters, digits, '_', '-', '.'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Lan>> Lan::Create(uint64_t id, absl::string_view work_dir,
                                                 absl::string_view name, ctl::LanMode mode,
                                                 const Limits& limits) {
  if (absl::Status s = ValidateName(name); !s.ok()) return s;
  if (mode != ctl::LanMode::kSwitch && mode != ctl::LanMode::kHub) {
    return absl::InvalidArgumentError(absl::StrCat("lan mode ", static_cast<uint32_t>(mode)));
  }
  auto lan = std::unique_ptr<Lan>(new Lan(id, std::string(name), mode, limits));
  std::string lans = absl::StrCat(work_dir, "/lans");
  lan->dir_ = absl::StrCat(lans, "/", name);
  lan->ctl_path_ = absl::StrCat(lan->dir_, "/ctl");
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (lan->ctl_path_.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("control path ", lan->ctl_path_, " is longer than 107 bytes"));
  }
  // VMs run as unprivileged uids: they need search (x) permission on every directory down to the
  // socket and write permission on the socket itself (connect(2) on a pathname socket). Nobody
  // needs to list the directories. The modes are set explicitly: mkdir's are cut by the umask.
  // Who may really join is decided on the peer's credentials (switch_engine.cc, PeerPolicy).
  mkdir(std::string(work_dir).c_str(), 0711);  // clownixd made it already (0711); tests may not
  for (const std::string& dir : {lans, lan->dir_}) {
    if ((mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) ||
        chmod(dir.c_str(), kDirMode) != 0) {
      return absl::FailedPreconditionError(absl::StrCat("mkdir ", dir, ": ", strerror(errno)));
    }
  }
  std::memcpy(addr.sun_path, lan->ctl_path_.data(), lan->ctl_path_.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  unlink(lan->ctl_path_.c_str());  // a previous switchcore's socket
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      chmod(lan->ctl_path_.c_str(), kSocketMode) != 0 || listen(fd, 128) != 0) {
    int e = errno;
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("listen on ", lan->ctl_path_, ": ", strerror(e)));
  }
  lan->listen_fd_ = fd;
  return lan;
}

Lan::~Lan() {
  handshakes_.clear();
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    unlink(ctl_path_.c_str());
    rmdir(dir_.c_str());
  }
}

int Lan::AddPort(Port* port) {
  for (size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i] == nullptr) {
      ports_[i] = port;
      active_.push_back(port);
      return static_cast<int>(i);
    }
  }
  return -1;
}

void Lan::RemovePort(int index) {
  if (ports_[index] == nullptr) abort();
  Port* port = ports_[index];
  ports_[index] = nullptr;
  for (size_t i = 0; i < active_.size(); ++i) {
    if (active_[i] == port) {
      active_[i] = active_.back();
      active_.pop_back();
      break;
    }
  }
  macs_.RemovePort(index);
}

}  // namespace clownix::switchcore
