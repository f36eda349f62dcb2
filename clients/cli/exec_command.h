// `clownix exec VM -- CMD...`: run a command in a VM, exit with its exit code.
#ifndef CLOWNIX_CLIENTS_CLI_EXEC_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_EXEC_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunExecCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_EXEC_COMMAND_H_
