// The `clownix` command line: global flags, then a verb from the registry in cli.cc.
//   clownix [--server ADDR] [--timeout D] [--ca F] [--cert F --key F] [--token T] VERB [ARGS...]
#ifndef CLOWNIX_CLIENTS_CLI_CLI_H_
#define CLOWNIX_CLIENTS_CLI_CLI_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"

namespace clownix::cli {

// A getenv that finds nothing.
inline const char* NoEnvironment(const char* /*name*/) { return nullptr; }

// Runs the command line `args` (without the program name) and returns the process exit code.
// `env_server` and `env_work_dir` are $CLOWNIX_SERVER and $CLOWNIX_WORK_DIR (null when unset);
// `getenv` looks up the channel's security variables (clients/common/channel_security.h).
int RunCli(const std::vector<std::string>& args, const char* env_server, const char* env_work_dir,
           std::ostream& out, std::ostream& err,
           absl::FunctionRef<const char*(const char*)> getenv = NoEnvironment);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_CLI_H_
