// `clownix apply FILE`: bring the topology to what a JSON file describes.
#ifndef CLOWNIX_CLIENTS_CLI_APPLY_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_APPLY_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunApplyCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_APPLY_COMMAND_H_
