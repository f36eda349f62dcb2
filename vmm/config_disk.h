// The per-VM config disk (ubdb): a small ext2 image holding config_cmd, which the guest's init
// runs at boot exactly as the seed's S19clownix did, plus the VM's name, admin IP and the RSA
// public key as authorized_keys. Values are stored as separate files and read by config_cmd;
// they are never pasted into shell text. config_cmd configures eth0 only when the guest has one
// and the admin IP is not empty (a VM without the admin network has no eth0).
#ifndef CLOWNIX_VMM_CONFIG_DISK_H_
#define CLOWNIX_VMM_CONFIG_DISK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace clownix::vmm {

class ConfigDisk {
 public:
  struct Contents {
    std::string name;             // Validated by common::ValidateName.
    std::string admin_ip;         // Dotted quad; "" for a VM without the admin network.
    std::string authorized_keys;  // OpenSSH public key lines; may be empty.
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
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_CONFIG_DISK_H_
