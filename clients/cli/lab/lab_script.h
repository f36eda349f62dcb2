// lab_script: a machine's startup (or shutdown) script assembled from the lab's pieces, run the
// way Kathará runs them: each piece in a subshell of its own with `set -x` (so the startup output
// shows each command, as Kathará's /var/log/startup.log does, and an `exit` in shared.startup does
// not skip the machine's own startup), in order; the script's exit status is the last non-zero
// status of a piece, 0 when all succeeded. The environment (lab.conf's env) is exported first,
// then the prelude (Kathará's conventions) runs.
#ifndef CLOWNIX_CLIENTS_CLI_LAB_LAB_SCRIPT_H_
#define CLOWNIX_CLIENTS_CLI_LAB_LAB_SCRIPT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace clownix::cli {

struct ScriptPart {
  std::string source;  // "shared.startup", "lab.conf exec"
  std::string body;
};

// The script; "" when env, prelude and parts are all empty. `interpreter` is "/bin/bash" or
// "/bin/sh"; `header` one comment line on where it comes from.
std::string AssembleLabScript(absl::string_view interpreter, absl::string_view header,
                              const std::vector<std::pair<std::string, std::string>>& env,
                              absl::string_view prelude, const std::vector<ScriptPart>& parts);

// `word` quoted for the shell: 'it'\''s'.
std::string ShellQuote(absl::string_view word);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LAB_LAB_SCRIPT_H_
