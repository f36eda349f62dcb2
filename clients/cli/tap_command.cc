#include "clients/cli/tap_command.h"

#include <map>

#include "clients/cli/command_table.h"
#include "clients/cli/format.h"
#include "clients/cli/table.h"
#include "clients/cli/values.h"

namespace clownix::cli {
namespace {

int Add(CommandEnv& env, const std::vector<std::string>& args) {
  std::vector<std::string> labels;
  ArgParser parser("clownix tap add NAME [--label KEY=VALUE]...",
                   "Defines a host tap (NAME is also the host interface name, at most 15 "
                   "characters).\nAttach it to a LAN with 'clownix connect tap:NAME LAN'.");
  parser.AddList("label", "KEY=VALUE", "a label for selectors", &labels);
  if (int code = ParseOrExit(env, "tap add", parser, args); code >= 0) return code;
  absl::Status usage = parser.ExpectPositionals(1, 1, "NAME");
  absl::StatusOr<std::map<std::string, std::string>> label_map = ParseLabels(labels);
  if (usage.ok()) usage = label_map.status();
  if (!usage.ok()) return env.UsageError("tap add", usage);

  v1::CreateTapRequest request;
  request.mutable_tap()->set_name(parser.positionals()[0]);
  request.mutable_tap()->mutable_labels()->insert(label_map->begin(), label_map->end());
  v1::CreateTapResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().topology().CreateTap(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  env.out() << "created tap " << response.tap().name() << " at revision " << response.revision()
            << "\n";
  return kExitOk;
}

int Remove(CommandEnv& env, const std::vector<std::string>& args) {
  ArgParser parser("clownix tap rm NAME...", "Deletes taps, detaching them from their LAN.");
  if (int code = ParseOrExit(env, "tap rm", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, SIZE_MAX, "NAME..."); !usage.ok()) {
    return env.UsageError("tap rm", usage);
  }
  int exit_code = kExitOk;
  for (const std::string& name : parser.positionals()) {
    v1::DeleteTapRequest request;
    request.set_name(name);
    v1::MutationResponse response;
    grpc::ClientContext context;
    env.client().SetDeadline(context);
    grpc::Status status = env.client().topology().DeleteTap(&context, request, &response);
    if (!status.ok()) {
      exit_code = env.RpcError(status);
      continue;
    }
    env.out() << "deleted tap " << name << " at revision " << response.revision() << "\n";
  }
  return exit_code;
}

int List(CommandEnv& env, const std::vector<std::string>& args) {
  std::string selector;
  bool json = false;
  ArgParser parser("clownix tap ls [--selector S] [--json]", "Lists host taps.");
  parser.AddString("selector", "S", "label selector: k=v,k!=v,k,!k (all must hold)", &selector);
  parser.AddBool("json", "print the ListTapsResponse as JSON", &json);
  if (int code = ParseOrExit(env, "tap ls", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(0, 0, "no arguments"); !usage.ok()) {
    return env.UsageError("tap ls", usage);
  }
  v1::ListRequest request;
  request.set_label_selector(selector);
  v1::ListTapsResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().topology().ListTaps(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  if (json) {
    env.out() << ToJson(response, /*pretty=*/true) << "\n";
    return kExitOk;
  }
  Table table({"NAME", "LAN", "LABELS"});
  for (const v1::Tap& tap : response.taps()) {
    table.AddRow({tap.name(), tap.lan().empty() ? "-" : tap.lan(), LabelsText(tap.labels())});
  }
  table.Print(env.out());
  return kExitOk;
}

constexpr Command kTapCommands[] = {
    {"add", "NAME [--label K=V]...", "define a host tap", Add},
    {"rm", "NAME...", "delete taps", Remove},
    {"ls", "[--selector S] [--json]", "list taps", List},
};

}  // namespace

int RunTapCommand(CommandEnv& env, const std::vector<std::string>& args) {
  return RunCommandTable(env, "tap", "Host tap devices that give the host a port on a LAN.",
                         kTapCommands, args);
}

}  // namespace clownix::cli
