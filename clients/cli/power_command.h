// `clownix start|halt|reboot VM`: the power buttons. One file for the three verbs because they
// differ only in the RPC they call.
#ifndef CLOWNIX_CLIENTS_CLI_POWER_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_POWER_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunStartCommand(CommandEnv& env, const std::vector<std::string>& args);
int RunHaltCommand(CommandEnv& env, const std::vector<std::string>& args);
int RunRebootCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_POWER_COMMAND_H_
