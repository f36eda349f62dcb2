// ArgParser: the command line of one `clownix` verb.
//
// Flags are `--name VALUE`, `--name=VALUE` or, for switches, `--name`; they may come before,
// between or after positionals. `--` ends the flags: what follows is kept verbatim in rest() (the
// command of `clownix exec VM -- CMD...`). `-h` and `--help` set help() and never fail.
#ifndef CLOWNIX_CLIENTS_CLI_ARG_PARSER_H_
#define CLOWNIX_CLIENTS_CLI_ARG_PARSER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace clownix::cli {

class ArgParser {
 public:
  // `usage` is the synopsis ("clownix vm add NAME [flags]"), `summary` one sentence on what the
  // verb does; both open Help().
  ArgParser(std::string usage, std::string summary);

  // Registers `--name VALUE`; the last occurrence wins. `*out` keeps its value when absent.
  void AddString(const std::string& name, const std::string& value_name, const std::string& help,
                 std::string* out);
  // Registers a repeatable `--name VALUE`; every occurrence is appended to `*out`.
  void AddList(const std::string& name, const std::string& value_name, const std::string& help,
               std::vector<std::string>* out);
  // Registers the switch `--name` (also `--name=true|false`).
  void AddBool(const std::string& name, const std::string& help, bool* out);

  // Parses `args` (the words after the verb). INVALID_ARGUMENT naming the word for an unknown
  // flag, a missing value, or a value given to a switch. Positionals are checked separately with
  // ExpectPositionals() so that `--help` works whatever else is on the line.
  absl::Status Parse(absl::Span<const std::string> args);

  // INVALID_ARGUMENT unless min <= positionals <= max; `names` says what is expected ("VM NIC
  // LAN").
  absl::Status ExpectPositionals(size_t min, size_t max, const std::string& names) const;

  bool help() const { return help_; }
  // True when the flag `name` appeared on the command line.
  bool IsSet(const std::string& name) const { return seen_.count(name) > 0; }
  const std::vector<std::string>& positionals() const { return positionals_; }
  // The words after `--`, and whether `--` was there at all.
  const std::vector<std::string>& rest() const { return rest_; }
  bool saw_double_dash() const { return saw_double_dash_; }

  // The usage text: synopsis, summary and one line per flag.
  std::string Help() const;

 private:
  enum class Kind { kString, kList, kBool };
  struct Flag {
    Kind kind;
    std::string value_name;
    std::string help;
    void* out;
  };

  void Add(const std::string& name, Flag flag);

  std::string usage_;
  std::string summary_;
  std::map<std::string, Flag> flags_;
  std::vector<std::string> order_;
  std::set<std::string> seen_;
  std::vector<std::string> positionals_;
  std::vector<std::string> rest_;
  bool saw_double_dash_ = false;
  bool help_ = false;
};

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_ARG_PARSER_H_
