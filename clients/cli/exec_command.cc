#include "clients/cli/exec_command.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "clients/cli/values.h"

namespace clownix::cli {

// Like ssh, exec keeps 0..254 for the remote command and reports its own failures as 255.
inline constexpr int kExecFailure = 255;

int RunExecCommand(CommandEnv& env, const std::vector<std::string>& args) {
  std::string timeout;
  ArgParser parser(
      "clownix exec VM [--timeout D] -- COMMAND [ARGS...]",
      "Runs COMMAND with /bin/sh -c in the VM (through the guest agent; no IP needed), prints\n"
      "its output (stdout and stderr interleaved) and exits with its exit code. Exits 255 when\n"
      "the command could not be run.");
  parser.AddString("timeout", "D", "kill the command after D, e.g. 30s (server default 10s)",
                   &timeout);
  if (int code = ParseOrExit(env, "exec", parser, args); code >= 0) return code;
  absl::Status usage = parser.ExpectPositionals(1, SIZE_MAX, "VM -- COMMAND");
  std::vector<std::string> words(
      parser.positionals().begin() + std::min<size_t>(1, parser.positionals().size()),
      parser.positionals().end());
  words.insert(words.end(), parser.rest().begin(), parser.rest().end());
  if (usage.ok() && words.empty()) {
    usage = absl::InvalidArgumentError("missing COMMAND: expected VM -- COMMAND");
  }
  v1::ExecRequest request;
  if (usage.ok() && !timeout.empty()) {
    absl::StatusOr<uint32_t> ms = ParseDurationMs("--timeout", timeout);
    if (ms.ok()) request.set_timeout_ms(*ms);
    usage = ms.status();
  }
  if (!usage.ok()) {
    env.UsageError("exec", usage);
    return kExecFailure;
  }
  request.set_vm(parser.positionals()[0]);
  // Words are joined with spaces, as ssh does: quote for the remote shell what it must not split.
  request.set_command(absl::StrJoin(words, " "));
  v1::ExecResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(
      context, absl::Milliseconds(request.timeout_ms() == 0 ? 10000 : request.timeout_ms()));
  grpc::Status status = env.client().machines().Exec(&context, request, &response);
  if (!status.ok()) {
    env.RpcError(status);
    return kExecFailure;
  }
  env.out() << response.output();
  env.out().flush();
  if (response.truncated()) env.err() << "clownix: output truncated at 1 MiB\n";
  return std::clamp(response.exit_code(), 0, 254);
}

}  // namespace clownix::cli
