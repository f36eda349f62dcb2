// `clownix console VM`: the VM's console, interactive (Ctrl-] quits) or from a pipe.
#ifndef CLOWNIX_CLIENTS_CLI_CONSOLE_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_CONSOLE_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunConsoleCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_CONSOLE_COMMAND_H_
