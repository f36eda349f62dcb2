// FakeUmlLauncher: a UmlLauncher for tests of VmManager without UML. Each "VM" is a /bin/sh that
// sleeps, started the way UML is (its lines on descriptors 3..6, its own process group, uml.log
// for output, UML's argv after its own so /proc/PID/cmdline identifies it for Adopt, and the pid
// file UML would write). The test plays the guest through FakeGuest: it reads and writes the
// console and agent lines (the pty masters) and sends mconsole notifications as UML would.
#ifndef CLOWNIX_VMM_TESTING_FAKE_UML_LAUNCHER_H_
#define CLOWNIX_VMM_TESTING_FAKE_UML_LAUNCHER_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/unique_fd.h"
#include "vmm/mconsole_wire.h"
#include "vmm/uml_launcher.h"

namespace clownix::vmm::testing {

// The guest's side of one fake VM.
struct FakeGuest {
  pid_t pid = 0;
  std::string umid;
  // The lines' masters (the only ones: reset() hangs the line up).
  common::UniqueFd console;  // con0: what the VM prints, where keystrokes arrive.
  common::UniqueFd agent;    // ssl1: the guest agent's end.
  std::string notify_socket;

  // Sends an mconsole notification to the VM's notify socket, as UML does.
  absl::Status Notify(mconsole_wire::NotifyType type, absl::string_view data) const;
  // Sends `datagram` as it is to the notify socket, as a broken or hostile UML could.
  absl::Status NotifyRaw(absl::string_view datagram) const;
};

class FakeUmlLauncher final : public UmlLauncher {
 public:
  absl::StatusOr<Launched> Launch(const Request& request) override;

  // The guest of the latest VM launched with umid `umid`, or nullptr.
  std::shared_ptr<FakeGuest> Guest(const std::string& umid);
  // The next Launch fails with `status` (and starts nothing).
  void FailNextLaunch(absl::Status status);

 private:
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<FakeGuest>> guests_ ABSL_GUARDED_BY(mu_);
  absl::Status next_failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace clownix::vmm::testing

#endif  // CLOWNIX_VMM_TESTING_FAKE_UML_LAUNCHER_H_
