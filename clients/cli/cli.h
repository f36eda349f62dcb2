// The `clownix` command line: global flags, then a verb from the registry in cli.cc.
//   clownix [--server ADDR] [--timeout D] VERB [ARGS...]
#ifndef CLOWNIX_CLIENTS_CLI_CLI_H_
#define CLOWNIX_CLIENTS_CLI_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace clownix::cli {

// Runs the command line `args` (without the program name) and returns the process exit code.
// `env_server` and `env_work_dir` are $CLOWNIX_SERVER and $CLOWNIX_WORK_DIR (null when unset).
int RunCli(const std::vector<std::string>& args, const char* env_server, const char* env_work_dir,
           std::ostream& out, std::ostream& err);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_CLI_H_
