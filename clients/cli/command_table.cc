#include "clients/cli/command_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace clownix::cli {
namespace {

void PrintTable(std::ostream& out, const std::string& prefix, const std::string& summary,
                absl::Span<const Command> table) {
  const std::string self = prefix.empty() ? "clownix" : absl::StrCat("clownix ", prefix);
  out << "usage: " << self << (prefix.empty() ? " [--server ADDR] [--timeout D]" : "")
      << " COMMAND [ARGS...]\n\n"
      << summary << "\n\ncommands:\n";
  size_t width = 0;
  for (const Command& command : table) {
    width = std::max(width, absl::StrCat(command.name, " ", command.synopsis).size());
  }
  for (const Command& command : table) {
    out << absl::StrFormat("  %-*s  %s\n", static_cast<int>(width),
                           absl::StrCat(command.name, " ", command.synopsis), command.summary);
  }
  out << "\nRun '" << self << " COMMAND --help' for the flags of a command.\n";
}

}  // namespace

int RunCommandTable(CommandEnv& env, const std::string& prefix, const std::string& summary,
                    absl::Span<const Command> table, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintTable(env.out(), prefix, summary, table);
    return kExitOk;
  }
  for (const Command& command : table) {
    if (args[0] == command.name) {
      return command.run(env, std::vector<std::string>(args.begin() + 1, args.end()));
    }
  }
  return env.UsageError(
      prefix,
      absl::InvalidArgumentError(absl::StrCat(
          "unknown command \"", absl::StrCat(prefix, prefix.empty() ? "" : " ", args[0]), "\"")));
}

}  // namespace clownix::cli
