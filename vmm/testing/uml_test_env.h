// Shared set-up for tests that boot real UML VMs: a short work dir (unix socket paths must fit
// 108 bytes, Bazel's TEST_TMPDIR is too long), the built rootfs and XSTATE shim from runfiles,
// and helpers to run and reap host processes by pid.
#ifndef CLOWNIX_VMM_TESTING_UML_TEST_ENV_H_
#define CLOWNIX_VMM_TESTING_UML_TEST_ENV_H_

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/subprocess.h"
#include "vmm/vm_manager.h"

namespace clownix::vmm::testing {

// Creates /tmp/vmmt.XXXXXX; removes it when destroyed.
class ShortTempDir {
 public:
  ShortTempDir() {
    char tmpl[] = "/tmp/vmmt.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) abort();  // /tmp not writable: no test can run.
    path_ = tmpl;
  }
  ~ShortTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline VmManagerOptions DefaultOptions(const std::string& work_dir) {
  VmManagerOptions o;
  o.work_dir = work_dir;
  o.root_fs = "vmm/rootfs/rootfs.img";
  o.xstate_fix_library = "vmm/xstate/libuml_xstate_fix.so";
  o.admin_prefix = "10.0";
  return o;
}

// A process started by a test in a process group of its own, killed (whole group) and reaped on
// destruction.
class HostProcess {
 public:
  explicit HostProcess(std::vector<std::string> argv) {
    common::SpawnOptions options;
    options.argv = std::move(argv);
    options.new_process_group = true;
    absl::StatusOr<common::SpawnedChild> child = common::Spawn(options);
    if (child.ok()) pid_ = child->pid;
    status_ = child.status();
  }
  ~HostProcess() { Stop(); }
  void Stop() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGKILL);
    common::WaitForChild(pid_).IgnoreError();  // Killed above; this only removes the zombie.
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }
  const absl::Status& status() const { return status_; }  // Why it did not start, if it did not.

 private:
  pid_t pid_ = -1;
  absl::Status status_;
};

// Waits (inotify, no polling) until `path` exists or `timeout` passes; true if it exists.
inline bool WaitForPath(const std::string& path, absl::Duration timeout) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  inotify_add_watch(fd, dir.c_str(), IN_CREATE | IN_MOVED_TO);
  const absl::Time deadline = absl::Now() + timeout;
  bool found = false;
  while (!(found = access(path.c_str(), F_OK) == 0)) {
    int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    pollfd p = {fd, POLLIN, 0};
    if (wait_ms <= 0 || poll(&p, 1, wait_ms) <= 0) break;
    char buf[4096];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
  }
  close(fd);
  return found || access(path.c_str(), F_OK) == 0;
}

// True when no live process of group `pgid` exists (exited helpers that were reparented may
// linger as zombies until init reaps them; those run nothing).
inline bool GroupGone(pid_t pgid) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in("/proc/" + pid + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 2));
    std::string state;
    long ppid = 0, pgrp = 0;
    rest >> state >> ppid >> pgrp;
    if (pgrp == pgid && state != "Z") return false;
  }
  return true;
}

}  // namespace clownix::vmm::testing

#endif  // CLOWNIX_VMM_TESTING_UML_TEST_ENV_H_
