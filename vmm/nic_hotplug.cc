#include "vmm/nic_hotplug.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/seed_rules.h"
#include "vmm/mconsole_client.h"
#include "vmm/uml_command_line.h"

namespace clownix::vmm {

absl::Status NicHotplug::CheckLanSocket(const NicSpec& nic) {
  struct stat st;
  if (stat(nic.ctl_path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "eth%d: no LAN control socket at %s (is the switch running?)", nic.index, nic.ctl_path));
  }
  return absl::OkStatus();
}

absl::Status NicHotplug::Plug(absl::string_view vm, const std::string& mac, const NicSpec& nic,
                              const std::string& mconsole, const RunInGuest& run) {
  absl::StatusOr<std::string> value = UmlCommandLine::NicValue({nic.index, mac, nic.ctl_path});
  if (!value.ok()) return value.status();
  if (absl::Status s = CheckLanSocket(nic); !s.ok()) return s;
  const std::string check = absl::StrFormat("test -e /sys/class/net/eth%d", nic.index);
  absl::StatusOr<ExecResult> present = run(check);
  if (!present.ok()) return present.status();
  if (present->exit_code == 0) {
    return absl::AlreadyExistsError(absl::StrFormat("vm %s already has eth%d", vm, nic.index));
  }
  absl::StatusOr<std::string> reply =
      MconsoleClient::Send(mconsole, absl::StrFormat("config eth%d=%s", nic.index, *value));
  if (!reply.ok()) return reply.status();
  present = run(check);
  if (!present.ok()) return present.status();
  if (present->exit_code != 0) {
    return absl::UnavailableError(absl::StrFormat(
        "vm %s: UML accepted eth%d but no interface appeared (is anything listening on %s?)", vm,
        nic.index, nic.ctl_path));
  }
  return absl::OkStatus();
}

absl::Status NicHotplug::Unplug(absl::string_view vm, int index, const std::string& mconsole,
                                const RunInGuest& run) {
  if (absl::Status s = common::ValidateNicIndex(index); !s.ok()) return s;
  absl::StatusOr<ExecResult> down =
      run(absl::StrFormat("test -e /sys/class/net/eth%d && ip link set eth%d down", index, index));
  if (!down.ok()) return down.status();
  if (down->exit_code != 0) {
    return absl::NotFoundError(absl::StrFormat("vm %s has no eth%d", vm, index));
  }
  return Remove(index, mconsole);
}

absl::Status NicHotplug::Remove(int index, const std::string& mconsole) {
  absl::StatusOr<std::string> reply =
      MconsoleClient::Send(mconsole, absl::StrFormat("remove eth%d", index));
  return reply.status();
}

}  // namespace clownix::vmm
