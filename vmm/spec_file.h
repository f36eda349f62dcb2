// The spec file of a VM (WORK/vms/NAME/spec): what a restarted clownixd needs to adopt the VM
// (VmManager::Adopt), written whenever it changes (boot, hot-plug, unplug, reboot).
//
// Format, one `key=value` per line:
//   format=2
//   name=NAME
//   number=N
//   mem=MIB
//   rootfs=PATH             the image it boots, when not the manager's default (absolute)
//   nic=INDEX CTL_PATH      the NICs the VM has now, one line each
//   bootnic=INDEX CTL_PATH  the NICs of its kernel command line (what a reboot brings back)
//   mac=INDEX MAC           a MAC the VM chose for a NIC (VmSpec::macs), one line each
//   end
// The last line tells a whole file from a cut one. Files without the `format=` line were written
// before it existed (no `end`; no `bootnic=` lines before boot NICs were recorded: then the boot
// NICs are the current ones); they are still read.
#ifndef CLOWNIX_VMM_SPEC_FILE_H_
#define CLOWNIX_VMM_SPEC_FILE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vmm/vm_types.h"

namespace clownix::vmm {

class SpecFile {
 public:
  struct Contents {
    VmSpec spec;
    // The NICs of the kernel command line: what the VM has again after a reboot, which re-execs
    // the kernel with that command line and forgets NICs plugged or unplugged since.
    std::vector<NicSpec> boot_nics;
  };

  // The file's text. Thread-safe, like every method here.
  static std::string Encode(const Contents& contents);

  // Parses a file's text. DATA_LOSS naming the line and what is wrong with it: an unknown key, a
  // key given twice, a value that is not a number, a NIC index out of 0..7, a name or number the
  // seed's rules refuse, a missing name/number/mem, or (format 2) no `end` line.
  static absl::StatusOr<Contents> Parse(absl::string_view text);

  // Encodes and writes `path` durably (common::WriteFileDurably): after a crash the file holds
  // the old contents or the new ones. Errors as WriteFileDurably's.
  static absl::Status Write(const std::string& path, const Contents& contents);

  // Reads and parses `path`. NOT_FOUND when it does not exist; DATA_LOSS as Parse, the message
  // starting with the path.
  static absl::StatusOr<Contents> Read(const std::string& path);
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_SPEC_FILE_H_
