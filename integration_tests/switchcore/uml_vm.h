// UmlVm: one real linux.uml VM for switchcore's integration tests, booted from the project's
// rootfs with a COW file and its own config disk (whose config_cmd sets eth0's address), eth0 on a
// daemon-transport control socket. The console (con0) is a pair of pipes driving the guest's root
// shell: Run() writes a command and waits for a marker only the shell's output can contain.
// The VM is killed by process group (UML calls setsid) and reaped on destruction.
#ifndef CLOWNIX_INTEGRATION_TESTS_SWITCHCORE_UML_VM_H_
#define CLOWNIX_INTEGRATION_TESTS_SWITCHCORE_UML_VM_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vmm/console_flow.h"

namespace clownix::switchcore {

class UmlVm {
 public:
  struct Spec {
    std::string name;  // umid, also the VM's directory under work_dir
    std::string work_dir;
    std::string root_fs;     // the shared, read-only rootfs.img
    std::string xstate_lib;  // LD_PRELOAD library (docs/design.md, vmm/xstate/)
    std::string ctl_path;    // the LAN's daemon control socket
    std::string mac;
    std::string ip_cidr;  // eth0 address, e.g. 10.0.0.1/24
  };

  // Boots and waits until the guest shell answers (up to `timeout`).
  static absl::StatusOr<std::unique_ptr<UmlVm>> Boot(const Spec& spec, absl::Duration timeout);
  ~UmlVm();

  // Runs `command` in the guest shell; returns what it printed. DEADLINE_EXCEEDED on timeout.
  absl::StatusOr<std::string> Run(const std::string& command, absl::Duration timeout);
  pid_t pid() const { return pid_; }
  // Everything the console printed so far (for failure messages).
  std::string Console();

 private:
  UmlVm() = default;
  void ReadConsole();

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::thread reader_;
  absl::Mutex mu_;
  // What the console showed, without the marks of the guest's console relay (vmm/console_flow.h).
  std::string console_ ABSL_GUARDED_BY(mu_);
  vmm::ConsoleFlowFilter console_flow_;  // Used by the reader thread only.
  int marker_ = 0;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_INTEGRATION_TESTS_SWITCHCORE_UML_VM_H_
