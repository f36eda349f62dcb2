// `clownix topo`: the whole topology, as tables or JSON.
#ifndef CLOWNIX_CLIENTS_CLI_TOPO_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_TOPO_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunTopoCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_TOPO_COMMAND_H_
