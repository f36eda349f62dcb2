// Command tables: `clownix VERB ...` and `clownix lan SUBVERB ...` are both a name looked up in
// an explicit table (one line per command) and run with the remaining words.
#ifndef CLOWNIX_CLIENTS_CLI_COMMAND_TABLE_H_
#define CLOWNIX_CLIENTS_CLI_COMMAND_TABLE_H_

#include <string>
#include <vector>

#include "absl/types/span.h"
#include "clients/cli/command_env.h"

namespace clownix::cli {

// Runs one command. `args` are the words after its name; returns the exit code.
using CommandFn = int (*)(CommandEnv& env, const std::vector<std::string>& args);

struct Command {
  const char* name;
  // Synopsis of the arguments ("NAME [--mem MIB] ...") for the table's help.
  const char* synopsis;
  const char* summary;
  CommandFn run;
};

// Runs the command named by args[0] from `table`. `prefix` is the words before it ("lan"; empty
// at the top level), `summary` describes the group. Prints the table as help for `--help`, `-h`,
// `help` or no words; an unknown name is a usage error (exit 2).
int RunCommandTable(CommandEnv& env, const std::string& prefix, const std::string& summary,
                    absl::Span<const Command> table, const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_COMMAND_TABLE_H_
