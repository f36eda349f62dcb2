// `clownix disconnect ENDPOINT`: unplug a VM NIC or a tap from its LAN.
#ifndef CLOWNIX_CLIENTS_CLI_DISCONNECT_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_DISCONNECT_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunDisconnectCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_DISCONNECT_COMMAND_H_
