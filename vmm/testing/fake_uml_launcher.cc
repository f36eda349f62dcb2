#include "vmm/testing/fake_uml_launcher.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_io.h"
#include "common/subprocess.h"

namespace clownix::vmm::testing {

absl::Status FakeGuest::Notify(mconsole_wire::NotifyType type, absl::string_view data) const {
  mconsole_wire::Notify note = {};
  note.magic = mconsole_wire::kMagic;
  note.version = mconsole_wire::kVersion;
  note.type = type;
  note.len = static_cast<int32_t>(std::min<size_t>(data.size(), mconsole_wire::kMaxData));
  memcpy(note.data, data.data(), note.len);
  return NotifyRaw(absl::string_view(reinterpret_cast<const char*>(&note),
                                     offsetof(mconsole_wire::Notify, data) + note.len));
}

absl::Status FakeGuest::NotifyRaw(absl::string_view datagram) const {
  sockaddr_un to = {};
  to.sun_family = AF_UNIX;
  if (notify_socket.size() >= sizeof(to.sun_path)) return absl::InvalidArgumentError("path");
  memcpy(to.sun_path, notify_socket.data(), notify_socket.size());
  common::UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "socket");
  if (sendto(fd.get(), datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to),
             sizeof(to)) != static_cast<ssize_t>(datagram.size())) {
    return absl::ErrnoToStatus(errno, absl::StrCat("sendto ", notify_socket));
  }
  return absl::OkStatus();
}

absl::StatusOr<UmlLauncher::Launched> FakeUmlLauncher::Launch(const Request& request) {
  {
    absl::MutexLock lock(&mu_);
    if (!next_failure_.ok()) return std::exchange(next_failure_, absl::OkStatus());
  }
  auto guest = std::make_shared<FakeGuest>();
  std::string uml_dir;
  for (const std::string& arg : request.argv) {
    absl::string_view value = arg;
    if (absl::ConsumePrefix(&value, "umid=")) guest->umid = std::string(value);
    if (absl::ConsumePrefix(&value, "uml_dir=")) uml_dir = std::string(value);
    if (absl::ConsumePrefix(&value, "mconsole=notify:")) guest->notify_socket = std::string(value);
  }
  guest->console.reset(fcntl(request.console_master, F_DUPFD_CLOEXEC, 0));
  guest->agent.reset(fcntl(request.agent_master, F_DUPFD_CLOEXEC, 0));
  if (!guest->console.valid() || !guest->agent.valid()) return absl::ErrnoToStatus(errno, "dup");

  common::SpawnOptions options;
  // sh does not exec its last command when another follows, so the pid stays sh's, and its
  // cmdline ends with UML's argv. It closes the masters: the guest's copies are the only ones,
  // so FakeGuest decides when a line hangs up. It keeps the slaves (Adopt finds them).
  options.argv = {"/bin/sh", "-c", "exec 3>&- 5>&-; sleep 100000; :", "fake-uml"};
  options.argv.insert(options.argv.end(), request.argv.begin(), request.argv.end());
  options.output = common::SpawnOptions::Output::kFile;
  options.output_path = request.log_path;
  options.new_process_group = true;  // UML's setsid().
  options.fds = {{request.console_master, kConsoleMasterFd},
                 {request.console_slave, kConsoleSlaveFd},
                 {request.agent_master, kAgentMasterFd},
                 {request.agent_slave, kAgentSlaveFd}};
  absl::StatusOr<common::SpawnedChild> child = common::Spawn(options);
  if (!child.ok()) return child.status();
  guest->pid = child->pid;
  const std::string pid_dir = absl::StrCat(uml_dir, "/", guest->umid);
  std::error_code ec;
  std::filesystem::create_directories(pid_dir, ec);
  if (absl::Status s = common::WriteFileDurably(pid_dir + "/pid", absl::StrCat(child->pid, "\n"));
      ec || !s.ok()) {
    return absl::InternalError(absl::StrCat("pid file in ", pid_dir, ": ", s.ToString()));
  }
  {
    absl::MutexLock lock(&mu_);
    guests_[guest->umid] = guest;
  }
  Launched launched;
  launched.pid = child->pid;
  launched.pidfd = std::move(child->pidfd);
  return launched;
}

std::shared_ptr<FakeGuest> FakeUmlLauncher::Guest(const std::string& umid) {
  absl::MutexLock lock(&mu_);
  auto it = guests_.find(umid);
  return it == guests_.end() ? nullptr : it->second;
}

void FakeUmlLauncher::FailNextLaunch(absl::Status status) {
  absl::MutexLock lock(&mu_);
  next_failure_ = std::move(status);
}

}  // namespace clownix::vmm::testing
