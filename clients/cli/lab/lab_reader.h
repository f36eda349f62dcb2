// lab_reader: a Kathará or Netkit lab directory read as a clownix network. The one entry point
// the `clownix lab` verbs (and `lab test`) use: ReadLab(DIR) gives the Network to apply, the boot
// waves from lab.dep, the warnings to show, and the lab's name, which labels everything it makes.
//
// What a lab directory holds, and what each part becomes (docs/labs.md, "Kathará and Netkit labs"):
//   lab.conf            machines, their NICs (dev[N] is ethN: the VMs get no admin network, so
//                       eth0 is the lab's), options and LAB_* metadata (lab_conf.h); absent: each
//                       subdirectory is a machine, with no links
//   lab.dep             boot order (lab_dep.h)
//   shared.startup, M.startup, then lab.conf's exec lines   -> GuestConfig.startup, with set -x
//   M.shutdown, then shared.shutdown                        -> GuestConfig.shutdown
//   shared/, then M/    copied into the guest's /, the machine's own files winning (Netkit);
//                       shared/ also at /shared (Kathará mounts the host's lab/shared there;
//                       clownix gives each machine a copy: writes are not shared)
// and Kathará's runtime conventions: IP forwarding on, rp_filter off, /etc/frr owned by frr.
#ifndef CLOWNIX_CLIENTS_CLI_LAB_LAB_READER_H_
#define CLOWNIX_CLIENTS_CLI_LAB_LAB_READER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/clownix/v1/resources.pb.h"

namespace clownix::cli {

// The label every VM, LAN and tap of a lab carries; its value is Lab::name.
inline constexpr char kLabLabel[] = "clownix.lab";

struct Lab {
  // LAB_NAME, else the directory's name, made a valid label value (printable, no blanks or
  // commas, at most 63 characters).
  std::string name;
  std::string dir;
  // LAB_NAME, LAB_DESCRIPTION, LAB_VERSION, LAB_AUTHOR, LAB_EMAIL, LAB_WEB as written.
  std::map<std::string, std::string> metadata;
  // VMs (admin false, their guest config, labels), LANs, taps and links, all labelled
  // kLabLabel=name.
  v1::Network network;
  // The machines' clownix names, in lab.conf order; and the name lab.conf gave each (they differ
  // for upper-case Netkit names).
  std::vector<std::string> machines;
  std::map<std::string, std::string> original_names;
  // Boot waves (lab_dep.h), clownix names; one wave with every machine without lab.dep.
  std::vector<std::vector<std::string>> waves;
  // What does not carry over as it was, each "FILE[:LINE]: what" (relative to the lab).
  std::vector<std::string> warnings;
};

// Reads the lab at `dir`. NOT_FOUND when it is not a directory; INVALID_ARGUMENT naming the file
// and line for what cannot work (lab_conf.h, lab_dep.h; a machine name that cannot be mapped to
// a clownix name, two names mapped to the same one; a machine's files and scripts over the
// guest config's limits, naming the machine and its biggest files); errors reading files.
absl::StatusOr<Lab> ReadLab(const std::string& dir);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LAB_LAB_READER_H_
