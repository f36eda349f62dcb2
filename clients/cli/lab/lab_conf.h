// lab_conf: the text of a Kathará or Netkit `lab.conf`, read line by line into plain data
// (machines, their interfaces and options, the lab's LAB_* metadata). What the options mean for a
// clownix VM is lab_reader's business; this only knows the grammar.
//
// The grammar, as Kathará's LabParser reads it and a little more leniently where Netkit was:
//   # comment                      a line starting with '#' (after blanks), or a blank line
//   MACHINE[N]=DOMAIN              interface ethN on collision domain DOMAIN (letters, digits, _)
//   MACHINE[N]=DOMAIN/MAC          ... with that MAC (Kathará)
//   MACHINE[N]=tap,HOST_IP,GUEST_IP  Netkit's host tap on ethN
//   MACHINE[OPTION]=VALUE          an option: image, mem, exec, sysctl, ... (Kathará and Netkit)
//   LAB_NAME=VALUE                 metadata: LAB_NAME, LAB_DESCRIPTION, LAB_VERSION, LAB_AUTHOR,
//                                  LAB_EMAIL, LAB_WEB
// VALUE is "double quoted", 'single quoted' or bare; a quoted value may be followed by blanks and
// a # comment, and so may a bare one (blanks, then #). Blanks around the line and around '=' do
// not matter. MACHINE is letters, digits, '_' and '-' (upper case is Netkit's; the reader maps it).
// Lines that match none of the forms are warnings naming the line (Netkit ignored them; Kathará
// refuses the lab), never silently dropped.
#ifndef CLOWNIX_CLIENTS_CLI_LAB_LAB_CONF_H_
#define CLOWNIX_CLIENTS_CLI_LAB_LAB_CONF_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::cli {

// One interface line: MACHINE[N]=...
struct ConfInterface {
  int line = 0;
  std::string domain;  // collision domain as written; empty for a Netkit tap
  std::string mac;     // lower case, or empty
  bool netkit_tap = false;
  std::string tap_host_ip;   // Netkit tap: the host's address
  std::string tap_guest_ip;  // ... and the guest's
};

// One option line: MACHINE[OPTION]=VALUE.
struct ConfOption {
  int line = 0;
  std::string name;   // as written ("mem", "exec")
  std::string value;  // quotes removed
};

struct ConfMachine {
  std::string name;  // as written in lab.conf
  int first_line = 0;
  std::map<int, ConfInterface> interfaces;  // by index
  std::vector<ConfOption> options;          // in file order
};

struct LabConf {
  std::vector<ConfMachine> machines;                            // order of first appearance
  std::map<std::string, std::pair<int, std::string>> metadata;  // "LAB_NAME" -> (line, value)
  std::vector<std::string> warnings;                            // "lab.conf:7: ..."
};

// The largest interface index a lab may use: UML VMs have eth0..eth7.
inline constexpr int kMaxLabNicIndex = 7;

// Parses the text of a lab.conf; `source` names it in messages ("lab.conf"). INVALID_ARGUMENT
// "SOURCE:LINE: what" for what can never work: an interface index above kMaxLabNicIndex, the same
// interface given twice, a collision domain with characters other than letters, digits and '_',
// a MAC that is not six hex pairs. Everything else questionable is a warning.
absl::StatusOr<LabConf> ParseLabConf(absl::string_view text, absl::string_view source);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LAB_LAB_CONF_H_
