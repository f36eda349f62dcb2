#include "clients/cli/apply_command.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "clients/cli/format.h"
#include "clients/cli/guest_readiness.h"
#include "clients/cli/table.h"
#include "clients/cli/values.h"
#include "clients/common/topology_file.h"

namespace clownix::cli {

namespace {

// --wait: every VM of the file ready (guest_readiness.h); prints where each one got.
int WaitForVms(CommandEnv& env, const v1::Network& desired, absl::Duration timeout) {
  std::set<std::string> names;
  for (const v1::Vm& vm : desired.vms()) names.insert(vm.name());
  if (names.empty()) return kExitOk;
  VmsSeen seen;
  absl::Status waited = WaitForGuests(env.client().topology(), names, absl::Now() + timeout, &seen);
  if (!waited.ok() && !absl::IsDeadlineExceeded(waited)) return env.Error(waited);
  Table table({"VM", "STATE", "STARTUP", "EXIT"});
  int not_ready = 0;
  std::string failures;
  for (const std::string& name : names) {
    auto it = seen.find(name);
    const v1::Vm* vm = it == seen.end() ? nullptr : &it->second;
    const Readiness readiness = ReadinessOf(vm);
    not_ready += readiness != Readiness::kReady;
    table.AddRow({name, vm ? VmStateText(*vm, /*with_reason=*/false) : "-",
                  ReadinessName(readiness),
                  vm && vm->startup().state() != v1::StartupStatus::STATE_PENDING &&
                          vm->startup().state() != v1::StartupStatus::STATE_RUNNING
                      ? absl::StrCat(vm->startup().exit_code())
                      : "-"});
    if (readiness == Readiness::kFailed || readiness == Readiness::kDown) {
      absl::StrAppend(&failures, "--- ", name, ": ",
                      readiness == Readiness::kDown ? vm->state_reason() : "startup output", "\n",
                      readiness == Readiness::kFailed ? vm->startup().output() : "", "\n");
    }
  }
  table.Print(env.out());
  env.out() << failures;
  if (absl::IsDeadlineExceeded(waited)) {
    env.err() << "clownix: not every VM was ready within " << absl::FormatDuration(timeout) << "\n";
  } else if (not_ready > 0) {
    env.err() << "clownix: " << not_ready << " VM(s) not ready\n";
  }
  return not_ready > 0 ? kExitFailure : kExitOk;
}

}  // namespace

int RunApplyCommand(CommandEnv& env, const std::vector<std::string>& args) {
  bool dry_run = false;
  bool prune = false;
  bool json = false;
  bool wait = false;
  bool restart = false;
  std::string wait_timeout_text = "10m";
  ArgParser parser(
      "clownix apply FILE [--dry-run] [--prune] [--restart] [--wait [--wait-timeout D]] [--json]",
      "Brings the topology to what FILE describes (YAML or JSON, the protobuf mapping of "
      "clownix.v1.Network,\nas printed by 'clownix topo --json'; schema: "
      "docs/topology.schema.json; - reads stdin).\nPrints the plan and each item's result; "
      "exits 1 if any item failed.\nWith --wait, then waits until every VM of FILE runs and its "
      "guest has finished its startup\n(Vm.startup), prints how each went, and exits 1 if one "
      "failed, is down or was not ready in time.");
  parser.AddBool("dry-run", "only compute and print the plan", &dry_run);
  parser.AddBool("prune", "also delete what exists but is not in FILE", &prune);
  parser.AddBool("restart", "restart running VMs whose guest config changes, to apply it now",
                 &restart);
  parser.AddBool("wait", "wait until every VM of FILE is ready (its startup finished)", &wait);
  parser.AddString("wait-timeout", "D", "how long --wait waits (default 10m)", &wait_timeout_text);
  parser.AddBool("json", "print the ApplyResponse as JSON", &json);
  if (int code = ParseOrExit(env, "apply", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, 1, "FILE"); !usage.ok()) {
    return env.UsageError("apply", usage);
  }
  absl::StatusOr<uint32_t> wait_timeout_ms = ParseDurationMs("--wait-timeout", wait_timeout_text);
  if (!wait_timeout_ms.ok()) return env.UsageError("apply", wait_timeout_ms.status());
  const absl::Duration wait_timeout = absl::Milliseconds(*wait_timeout_ms);
  absl::StatusOr<v1::Network> desired = clients::ReadTopologyFile(parser.positionals()[0]);
  if (!desired.ok()) return env.Error(desired.status());

  v1::ApplyRequest request;
  *request.mutable_desired() = *std::move(desired);
  request.set_dry_run(dry_run);
  request.set_prune(prune);
  request.set_restart_changed_guests(restart);
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
    return wait && !dry_run ? WaitForVms(env, request.desired(), wait_timeout) : kExitOk;
  }
  Table table({"ACTION", "KIND", "NAME", "DETAIL", "STATUS"});
  for (const v1::PlanItem& item : response.plan()) {
    std::string result;
    if (item.status_code() != 0) {
      result = absl::StrCat(StatusCodeName(item.status_code()), ": ", item.status_message());
    } else if (dry_run) {
      result = "planned";
    } else {
      // A restart changes no revision.
      result = item.revision() ? absl::StrCat("ok r", item.revision()) : "ok";
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
  return wait ? WaitForVms(env, request.desired(), wait_timeout) : kExitOk;
}

}  // namespace clownix::cli
