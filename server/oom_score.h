// clownixd's own place in the host's OOM-kill order. The kernel's OOM killer picks the process
// with the highest oom_score (its memory use, shifted by /proc/PID/oom_score_adj, -1000..1000).
// UML VMs run at +800 (vmm::kVmOomScoreAdj); clownixd lowers its own to kServerOomScoreAdj, and
// the switch, which clownixd spawns, inherits it: under memory pressure a VM dies first.
//
// Why not -1000: that makes a process unkillable by the OOM killer. A clownixd that leaked memory
// would then have the kernel kill everything else on the host (the user's shell, sshd) and panic
// when nothing is left; at -500 it is still the last of the usual processes to go, not immortal.
#ifndef CLOWNIX_SERVER_OOM_SCORE_H_
#define CLOWNIX_SERVER_OOM_SCORE_H_

#include <string>

#include "absl/status/status.h"

namespace clownix::server {

inline constexpr int kServerOomScoreAdj = -500;

// Writes `value` to `path` (the process's /proc/self/oom_score_adj). Lowering it needs
// CAP_SYS_RESOURCE: PERMISSION_DENIED (or EACCES's code) otherwise; other errors as errno maps
// them, naming the file.
absl::Status SetOomScoreAdj(int value, const std::string& path = "/proc/self/oom_score_adj");

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_OOM_SCORE_H_
