// `clownix watch`: follow topology changes live, resuming from a revision.
#ifndef CLOWNIX_CLIENTS_CLI_WATCH_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_WATCH_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunWatchCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_WATCH_COMMAND_H_
