// `clownix lab up|down|status|convert`: Kathará and Netkit lab directories (lab/lab_reader.h) run
// on clownix, and converted into topology files.
#ifndef CLOWNIX_CLIENTS_CLI_LAB_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_LAB_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunLabCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LAB_COMMAND_H_
