// Shared set-up for tests that boot real UML VMs: a short work dir (unix socket paths must fit
// 108 bytes, Bazel's TEST_TMPDIR is too long), the built rootfs and XSTATE shim from runfiles,
// and helpers to run and reap host processes by pid.
#ifndef CLOWNIX_VMM_TESTING_UML_TEST_ENV_H_
#define CLOWNIX_VMM_TESTING_UML_TEST_ENV_H_

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "vmm/vm_manager.h"

namespace clownix::vmm::testing {

// Creates /tmp/vmmt.XXXXXX; removes it when destroyed.
class ShortTempDir {
 public:
  ShortTempDir() {
    char tmpl[] = "/tmp/vmmt.XXXXXX";
    path_ = mkdtemp(tmpl);
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

// A process started by a test, killed (whole group) and reaped on destruction.
class HostProcess {
 public:
  explicit HostProcess(std::vector<std::string> argv) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      std::vector<char*> args;
      for (std::string& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    setpgid(pid_, pid_);
  }
  ~HostProcess() { Stop(); }
  void Stop() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

// True when no process of group `pgid` exists.
inline bool GroupGone(pid_t pgid) { return kill(-pgid, 0) != 0 && errno == ESRCH; }

}  // namespace clownix::vmm::testing

#endif  // CLOWNIX_VMM_TESTING_UML_TEST_ENV_H_
