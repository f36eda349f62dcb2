// `clownix lan add|rm|ls`: define, delete and list LANs.
#ifndef CLOWNIX_CLIENTS_CLI_LAN_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_LAN_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunLanCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LAN_COMMAND_H_
