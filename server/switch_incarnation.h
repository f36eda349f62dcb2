// The switch's incarnation at each start of clownixd. Port ids carry the incarnation of the switch
// that made them; the ports of the switch before a restart of clownixd come back with their ids
// (saved_ports.h), so the new switch must count from incarnations no earlier start used.
//
// WORK/switch.incarnation holds the number of clownixd starts, one decimal line, written durably
// (common::WriteFileDurably). Start N gives its switch incarnations from (N mod 4096) x 4096 on:
// 4096 switch restarts per clownixd start before the ranges meet.
#ifndef CLOWNIX_SERVER_SWITCH_INCARNATION_H_
#define CLOWNIX_SERVER_SWITCH_INCARNATION_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace clownix::server {

// Counts this start in `work_dir`'s file and returns the first incarnation of its switch. A
// missing file counts from zero. Errors: the file cannot be read or written (as errno maps them),
// DATA_LOSS when it holds something else than a count (remove it with ports.saved, whose ids it
// protects).
absl::StatusOr<uint32_t> NextSwitchIncarnation(const std::string& work_dir);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_SWITCH_INCARNATION_H_
