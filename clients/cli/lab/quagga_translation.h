// quagga_translation: Quagga labs on FRR. The debian image has FRR (Quagga's successor) and no
// Quagga, so a lab's Quagga configuration and the commands that start Quagga are rewritten:
//   /etc/quagga/daemons          -> the same daemons turned on in the image's /etc/frr/daemons
//                                   (sed lines for the startup prelude)
//   /etc/quagga/*.conf           -> one integrated /etc/frr/frr.conf (zebra.conf first, then the
//                                   others by name; vtysh.conf is dropped), logging to
//                                   /var/log/frr, without Quagga's vty passwords
//   /etc/init.d/quagga ACTION, /etc/init.d/zebra ACTION, service quagga ACTION,
//   systemctl ACTION quagga      -> the same ACTION on frr
//   /etc/init.d/ospfd start ...  -> nothing: FRR's start starts every daemon turned on
// What cannot be translated is listed in docs/labs.md (a per-daemon vty on its own port, Quagga-
// only commands in the configuration, scripts that call the daemons' binaries directly).
#ifndef CLOWNIX_CLIENTS_CLI_LAB_QUAGGA_TRANSLATION_H_
#define CLOWNIX_CLIENTS_CLI_LAB_QUAGGA_TRANSLATION_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "proto/clownix/v1/resources.pb.h"

namespace clownix::cli {

struct QuaggaFiles {
  bool translated = false;           // the machine had files under /etc/quagga/
  std::vector<std::string> daemons;  // daemons /etc/quagga/daemons turns on ("ospfd")
  std::vector<std::string> notes;    // what was done, one sentence each
};

// Moves `files`' /etc/quagga/ entries to FRR's (see above), in place. A lab that also gives
// /etc/frr/frr.conf or /etc/frr/daemons keeps those (a note says the Quagga one was dropped).
QuaggaFiles TranslateQuaggaFiles(std::vector<v1::GuestFile>* files);

// The script with Quagga's start commands rewritten for FRR. `source` ("r1.startup") names the
// file in `notes` ("r1.startup:3: ...") for each line changed.
std::string RewriteQuaggaCommands(absl::string_view script, absl::string_view source,
                                  std::vector<std::string>* notes);

// The shell lines that turn `daemons` on in /etc/frr/daemons.
std::string FrrDaemonsCommands(const std::vector<std::string>& daemons);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LAB_QUAGGA_TRANSLATION_H_
