// lab_dep: a lab's `lab.dep` (Netkit and Kathará), turned into boot waves.
//
// Each line says which machines one machine waits for: `MACHINE: DEP1 DEP2 ...` (blanks around
// ':' and between names do not matter); '#' starts a comment line; blank lines are skipped. A
// machine named on several lines waits for all of them. A machine boots once every machine it
// depends on has finished its startup: wave 0 holds the machines that wait for nothing, wave k
// those whose dependencies are all in waves 0..k-1.
#ifndef CLOWNIX_CLIENTS_CLI_LAB_LAB_DEP_H_
#define CLOWNIX_CLIENTS_CLI_LAB_LAB_DEP_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::cli {

// The waves of `machines` (names as lab.dep writes them; every machine lands in exactly one wave,
// in the order of `machines` inside a wave). `source` names the file in errors. INVALID_ARGUMENT
// "SOURCE:LINE: what" for a line that is not MACHINE: NAMES, a name not in `machines`, or a
// dependency cycle (the message names the machines around it, and the line of its first edge).
absl::StatusOr<std::vector<std::vector<std::string>>> ParseLabDep(
    absl::string_view text, absl::string_view source, const std::vector<std::string>& machines);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LAB_LAB_DEP_H_
