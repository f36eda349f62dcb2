// `clownix image ls|show`: the images VMs boot (Machines.ListImages).
#ifndef CLOWNIX_CLIENTS_CLI_IMAGE_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_IMAGE_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunImageCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_IMAGE_COMMAND_H_
