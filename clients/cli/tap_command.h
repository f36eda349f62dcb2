// `clownix tap add|rm|ls`: define, delete and list host taps.
#ifndef CLOWNIX_CLIENTS_CLI_TAP_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_TAP_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunTapCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_TAP_COMMAND_H_
