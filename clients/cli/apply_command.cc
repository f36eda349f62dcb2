#include "clients/cli/apply_command.h"

#include "absl/strings/str_cat.h"
#include "clients/cli/format.h"
#include "clients/cli/table.h"
#include "clients/cli/topology_file.h"

namespace clownix::cli {

int RunApplyCommand(CommandEnv& env, const std::vector<std::string>& args) {
  bool dry_run = false;
  bool prune = false;
  bool json = false;
  ArgParser parser(
      "clownix apply FILE [--dry-run] [--prune] [--json]",
      "Brings the topology to what FILE describes (JSON: the protobuf mapping of "
      "clownix.v1.Network,\nas printed by 'clownix topo --json'; - reads stdin). Prints the "
      "plan and each item's result;\nexits 1 if any item failed.");
  parser.AddBool("dry-run", "only compute and print the plan", &dry_run);
  parser.AddBool("prune", "also delete what exists but is not in FILE", &prune);
  parser.AddBool("json", "print the ApplyResponse as JSON", &json);
  if (int code = ParseOrExit(env, "apply", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, 1, "FILE"); !usage.ok()) {
    return env.UsageError("apply", usage);
  }
  absl::StatusOr<v1::Network> desired = ReadTopologyFile(parser.positionals()[0]);
  if (!desired.ok()) return env.Error(desired.status());

  v1::ApplyRequest request;
  *request.mutable_desired() = *std::move(desired);
  request.set_dry_run(dry_run);
  request.set_prune(prune);
  v1::ApplyResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().topology().Apply(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);

  int failed = 0;
  for (const v1::PlanItem& item : response.plan()) failed += item.status_code() != 0;
  if (json) {
    env.out() << ToJson(response, /*pretty=*/true) << "\n";
    return failed > 0 ? kExitFailure : kExitOk;
  }
  if (response.plan_size() == 0) {
    env.out() << "nothing to do: the topology already matches (revision " << response.revision()
              << ")\n";
    return kExitOk;
  }
  Table table({"ACTION", "KIND", "NAME", "DETAIL", "STATUS"});
  for (const v1::PlanItem& item : response.plan()) {
    std::string result;
    if (item.status_code() != 0) {
      result = absl::StrCat(StatusCodeName(item.status_code()), ": ", item.status_message());
    } else if (dry_run) {
      result = "planned";
    } else {
      result = absl::StrCat("ok r", item.revision());
    }
    table.AddRow({PlanActionText(item.action()), item.kind(), item.name(),
                  item.detail().empty() ? "-" : item.detail(), result});
  }
  table.Print(env.out());
  if (dry_run) {
    env.out() << "dry run: " << response.plan_size() << " change(s) planned, nothing done\n";
    if (failed > 0) {
      env.err() << "clownix: " << failed << " plan item(s) would fail\n";
      return kExitFailure;
    }
    return kExitOk;
  }
  env.out() << response.plan_size() - failed << " of " << response.plan_size()
            << " change(s) applied, revision " << response.revision() << "\n";
  if (failed > 0) {
    env.err() << "clownix: " << failed << " plan item(s) failed\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace clownix::cli
