#include "clients/cli/power_command.h"

#include "absl/time/time.h"
#include "clients/cli/format.h"
#include "clients/cli/values.h"

namespace clownix::cli {
namespace {

void PrintVm(CommandEnv& env, const v1::VmResponse& response) {
  env.out() << response.vm().name() << ": " << VmStateText(response.vm()) << " at revision "
            << response.revision() << "\n";
}

}  // namespace

int RunStartCommand(CommandEnv& env, const std::vector<std::string>& args) {
  ArgParser parser("clownix start VM", "Boots a defined, stopped or crashed VM.");
  if (int code = ParseOrExit(env, "start", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, 1, "VM"); !usage.ok()) {
    return env.UsageError("start", usage);
  }
  v1::StartRequest request;
  request.set_vm(parser.positionals()[0]);
  v1::VmResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().machines().Start(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  PrintVm(env, response);
  return kExitOk;
}

int RunHaltCommand(CommandEnv& env, const std::vector<std::string>& args) {
  std::string timeout;
  ArgParser parser("clownix halt VM [--timeout D]",
                   "Stops a VM gracefully; after the grace period it is killed.");
  parser.AddString("timeout", "D", "grace period, e.g. 30s (server default 10s)", &timeout);
  if (int code = ParseOrExit(env, "halt", parser, args); code >= 0) return code;
  v1::HaltRequest request;
  absl::Status usage = parser.ExpectPositionals(1, 1, "VM");
  if (usage.ok() && !timeout.empty()) {
    absl::StatusOr<uint32_t> ms = ParseDurationMs("--timeout", timeout);
    if (ms.ok()) request.set_timeout_ms(*ms);
    usage = ms.status();
  }
  if (!usage.ok()) return env.UsageError("halt", usage);
  request.set_vm(parser.positionals()[0]);
  v1::VmResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(
      context, absl::Milliseconds(request.timeout_ms() == 0 ? 10000 : request.timeout_ms()));
  grpc::Status status = env.client().machines().Halt(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  PrintVm(env, response);
  return kExitOk;
}

int RunRebootCommand(CommandEnv& env, const std::vector<std::string>& args) {
  ArgParser parser("clownix reboot VM", "Reboots a running VM in place.");
  if (int code = ParseOrExit(env, "reboot", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, 1, "VM"); !usage.ok()) {
    return env.UsageError("reboot", usage);
  }
  v1::RebootRequest request;
  request.set_vm(parser.positionals()[0]);
  v1::VmResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().machines().Reboot(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  PrintVm(env, response);
  return kExitOk;
}

}  // namespace clownix::cli
