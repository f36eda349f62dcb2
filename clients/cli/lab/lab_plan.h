// lab_plan: what `clownix lab up` and `lab down` ask of the server, as pure functions of a lab
// (lab_reader.h) and the server's topology: the objects of a lab (by their kLabLabel label), the
// names a lab needs that belong to something else, and the desired network of each boot wave.
#ifndef CLOWNIX_CLIENTS_CLI_LAB_LAB_PLAN_H_
#define CLOWNIX_CLIENTS_CLI_LAB_LAB_PLAN_H_

#include <string>
#include <vector>

#include "clients/cli/lab/lab_reader.h"
#include "proto/clownix/v1/resources.pb.h"

namespace clownix::cli {

// The VMs, LANs and taps of `network` labelled kLabLabel=`lab_name` (links are not copied).
v1::Network LabObjects(const v1::Network& network, const std::string& lab_name);

// The VMs, LANs and taps `lab` needs that exist in `current` without being the lab's, each as
// `vm "r1" (lab other)` or `lan "a" (no lab)`. Empty: `lab up` may go on.
std::vector<std::string> LabConflicts(const Lab& lab, const v1::Network& current);

// What `lab up` applies for wave `last` (0-based): every LAN and tap of the lab and their links,
// the machines of waves 0..last, and their links.
v1::Network LabUpToWave(const Lab& lab, size_t last);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LAB_LAB_PLAN_H_
