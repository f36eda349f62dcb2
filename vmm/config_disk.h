// The per-VM config disk (ubdb): a small ext2 image holding config_cmd, which the guest's init
// runs at boot exactly as the seed's S19clownix did, plus the VM's name, admin IP and the RSA
// public key as authorized_keys. Values are stored as separate files and read by config_cmd;
// they are never pasted into shell text. config_cmd configures eth0 only when the guest has one
// and the admin IP is not empty (a VM without the admin network has no eth0).
//
// It also carries the guest's configuration (common/guest_config.h) and applies it: files
// (files/manifest: "MODE INDEX PATH" lines, the contents in files/INDEX), then sysctls
// ("NAME=VALUE" lines), then the addresses of the NICs present at boot ("NIC CIDR" lines). What
// fails is written to /run/clownix/setup.log and marks the setup failed; the rest goes on. The
// startup script (startup) is not run at boot: the guest's init copies the disk to
// /run/clownix-config and vmm runs startup_run through the guest agent once the agent answers
// (StartupRunArgv). startup_run runs the script once per boot and, when called again (a restarted
// clownixd), waits for that run and reports it; it prints a first line "clownix-startup EXIT SETUP"
// (SETUP: ok or failed), then the last 4 KiB of the setup log and the script's output
// (ParseStartupReport). At a halt, the agent runs halt_run (HaltCommand): the shutdown script
// (shutdown), bounded in time, its output in /run/clownix/shutdown.out, then poweroff.
#ifndef CLOWNIX_VMM_CONFIG_DISK_H_
#define CLOWNIX_VMM_CONFIG_DISK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/guest_config.h"
#include "common/seed_rules.h"

namespace clownix::vmm {

class ConfigDisk {
 public:
  struct Contents {
    std::string name;                  // Validated by common::ValidateName.
    std::string admin_ip;              // Dotted quad; "" for a VM without the admin network.
    std::string authorized_keys;       // OpenSSH public key lines; may be empty.
    common::GuestConfig guest;         // Checked with common::ValidateGuestConfig.
    int nic_count = common::kMaxNics;  // For that check: the NICs the VM may have.
    bool admin = true;                 // Likewise: whether eth0 is the admin NIC.
  };

  // What startup_run reported (see above).
  struct StartupReport {
    int exit_code = 0;     // The script's; 0 without one.
    bool setup_ok = true;  // Files, sysctls and addresses all in place.
    std::string output;    // The tail of the setup log and the script's output.
  };

  // OK when every value is safe to ship: INVALID_ARGUMENT names the offending field.
  static absl::Status Validate(const Contents& contents);

  // Validates, then writes the image to `image_path` (replacing it) using mkfs.ext2 -d.
  // On any error nothing is left at `image_path`. INVALID_ARGUMENT for bad contents,
  // UNAVAILABLE when mkfs.ext2 fails (message has its output), NOT_FOUND when it is missing,
  // other file system errors as absl::ErrnoToStatus maps them. Thread-safe (uses only its own
  // temporary directory beside the image).
  static absl::Status Build(const Contents& contents, const std::string& image_path);

  // The fixed script stored as config_cmd.
  static absl::string_view ConfigCmd();

  // What the guest agent runs to get the startup report (in /run/clownix-config, where the
  // guest's init copied the disk).
  static std::vector<std::string> StartupRunArgv();
  // Whether a boot with `guest` has anything to report: a startup script, or setup that can fail
  // or log (files, sysctls, addresses). Without, the report is "0 ok" and nothing else.
  static bool HasStartupReport(const common::GuestConfig& guest);

  // The shell command the guest agent runs to halt the guest: the VM's shutdown script
  // (GuestConfig::shutdown, stored as `shutdown`, run by halt_run) for at most `script_limit`
  // (whole seconds, at least 1), then poweroff.
  static std::string HaltCommand(absl::Duration script_limit);
  // The fixed script stored as halt_run.
  static absl::string_view HaltRun();

  // Reads startup_run's output. INTERNAL when it does not start with the report line (an old
  // guest image, or a guest that replaced the script).
  static absl::StatusOr<StartupReport> ParseStartupReport(absl::string_view output);
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_CONFIG_DISK_H_
