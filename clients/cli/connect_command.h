// `clownix connect ENDPOINT LAN`: plug a VM NIC or a tap into a LAN.
#ifndef CLOWNIX_CLIENTS_CLI_CONNECT_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_CONNECT_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunConnectCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_CONNECT_COMMAND_H_
