// `clownix impair ENDPOINT`: show or set a link's delay, jitter, loss, ... per direction.
#ifndef CLOWNIX_CLIENTS_CLI_IMPAIR_COMMAND_H_
#define CLOWNIX_CLIENTS_CLI_IMPAIR_COMMAND_H_

#include <string>
#include <vector>

#include "clients/cli/command_env.h"

namespace clownix::cli {

int RunImpairCommand(CommandEnv& env, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_IMPAIR_COMMAND_H_
