#include "clients/cli/lab/lab_script.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace clownix::cli {

std::string ShellQuote(absl::string_view word) {
  return absl::StrCat("'", absl::StrReplaceAll(word, {{"'", "'\\''"}}), "'");
}

std::string AssembleLabScript(absl::string_view interpreter, absl::string_view header,
                              const std::vector<std::pair<std::string, std::string>>& env,
                              absl::string_view prelude, const std::vector<ScriptPart>& parts) {
  if (env.empty() && prelude.empty() && parts.empty()) return "";
  std::string script = absl::StrCat("#!", interpreter, "\n# ", header, "\n");
  for (const auto& [name, value] : env) {
    absl::StrAppend(&script, "export ", name, "=", ShellQuote(value), "\n");
  }
  absl::StrAppend(&script, prelude);
  if (parts.empty()) return script;
  absl::StrAppend(&script, "clownix_status=0\n");
  for (const ScriptPart& part : parts) {
    // The body starts on a line of its own and its last line is ended, so that a heredoc or a
    // comment on it does not swallow the closing parenthesis.
    absl::StrAppend(&script, "# --- ", part.source, "\n(\nset -x\n", part.body,
                    part.body.empty() || part.body.back() == '\n' ? "" : "\n",
                    ") || clownix_status=$?\n");
  }
  absl::StrAppend(&script, "exit $clownix_status\n");
  return script;
}

}  // namespace clownix::cli
