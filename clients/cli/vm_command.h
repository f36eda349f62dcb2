// `clownix vm add|rm|ls|show`: define, delete, list and inspect VMs.
#ifndef CLOWNIX_CLIENTS_CLI_VM_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_VM_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunVmCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_VM_COMMAND_H_
