// `clownix stats LAN`: per-port frame, byte and drop counters of a LAN.
#ifndef CLOWNIX_CLIENTS_CLI_STATS_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_STATS_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunStatsCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_STATS_COMMAND_H_
