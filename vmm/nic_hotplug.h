// Plugging NICs into a running VM and out again. UML does it over mconsole ("config
// ethN=daemon,MAC,unix,CTL", "remove ethN") and answers OK even when nothing came of it (a control
// socket nobody listens on), so the guest agent checks the interface before and after.
#ifndef CLOWNIX_VMM_NIC_HOTPLUG_H_
#define CLOWNIX_VMM_NIC_HOTPLUG_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vmm/vm_types.h"

namespace clownix::vmm {

// Stateless; thread-safe as far as `run` is.
class NicHotplug {
 public:
  // Runs a /bin/sh command in the guest (VmManager::Exec).
  using RunInGuest = std::function<absl::StatusOr<ExecResult>(const std::string& command)>;

  // FAILED_PRECONDITION unless a unix socket exists at nic.ctl_path: UML silently leaves out a
  // NIC whose control socket is missing (docs/uml-facts.md #13).
  static absl::Status CheckLanSocket(const NicSpec& nic);

  // Plugs `nic` into VM `vm` (with MAC `mac`, mconsole socket `mconsole`) and checks that the
  // interface appeared. INVALID_ARGUMENT: index or path UML cannot take; FAILED_PRECONDITION: no
  // socket at ctl_path; ALREADY_EXISTS: ethN is there already; UNAVAILABLE: UML accepted but no
  // interface appeared (a stale socket nobody listens on); errors of `run` and of mconsole.
  static absl::Status Plug(absl::string_view vm, const std::string& mac, const NicSpec& nic,
                           const std::string& mconsole, const RunInGuest& run);

  // Takes ethN down in the guest, then unplugs it. INVALID_ARGUMENT: index out of range;
  // NOT_FOUND: the guest has no ethN; errors of `run` and of mconsole.
  static absl::Status Unplug(absl::string_view vm, int index, const std::string& mconsole,
                             const RunInGuest& run);

  // Unplugs ethN without asking the guest (undoing a Plug). Errors of mconsole.
  static absl::Status Remove(int index, const std::string& mconsole);
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_NIC_HOTPLUG_H_
