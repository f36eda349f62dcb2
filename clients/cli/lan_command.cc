#include "clients/cli/lan_command.h"

#include <map>

#include "absl/strings/str_join.h"
#include "clients/cli/command_table.h"
#include "clients/cli/format.h"
#include "clients/cli/table.h"
#include "clients/cli/values.h"

namespace clownix::cli {
namespace {

int Add(CommandEnv& env, const std::vector<std::string>& args) {
  std::string mode = "switch";
  std::vector<std::string> labels;
  ArgParser parser("clownix lan add NAME [--mode switch|hub] [--label KEY=VALUE]...",
                   "Defines a LAN: an emulated Ethernet segment VM NICs and taps connect to.");
  parser.AddString("mode", "MODE", "switch (learning switch, default) or hub", &mode);
  parser.AddList("label", "KEY=VALUE", "a label for selectors", &labels);
  if (int code = ParseOrExit(env, "lan add", parser, args); code >= 0) return code;
  absl::Status usage = parser.ExpectPositionals(1, 1, "NAME");
  absl::StatusOr<v1::LanMode> lan_mode = ParseLanMode(mode);
  absl::StatusOr<std::map<std::string, std::string>> label_map = ParseLabels(labels);
  if (usage.ok() && !lan_mode.ok()) usage = lan_mode.status();
  if (usage.ok() && !label_map.ok()) usage = label_map.status();
  if (!usage.ok()) return env.UsageError("lan add", usage);

  v1::CreateLanRequest request;
  request.mutable_lan()->set_name(parser.positionals()[0]);
  request.mutable_lan()->set_mode(*lan_mode);
  request.mutable_lan()->mutable_labels()->insert(label_map->begin(), label_map->end());
  v1::CreateLanResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().topology().CreateLan(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  env.out() << "created lan " << response.lan().name() << " (" << LanModeText(response.lan().mode())
            << ") at revision " << response.revision() << "\n";
  return kExitOk;
}

int Remove(CommandEnv& env, const std::vector<std::string>& args) {
  ArgParser parser("clownix lan rm NAME...",
                   "Deletes LANs. A LAN with anything connected to it is refused.");
  if (int code = ParseOrExit(env, "lan rm", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, SIZE_MAX, "NAME..."); !usage.ok()) {
    return env.UsageError("lan rm", usage);
  }
  int exit_code = kExitOk;
  for (const std::string& name : parser.positionals()) {
    v1::DeleteLanRequest request;
    request.set_name(name);
    v1::MutationResponse response;
    grpc::ClientContext context;
    env.client().SetDeadline(context);
    grpc::Status status = env.client().topology().DeleteLan(&context, request, &response);
    if (!status.ok()) {
      exit_code = env.RpcError(status);
      continue;
    }
    env.out() << "deleted lan " << name << " at revision " << response.revision() << "\n";
  }
  return exit_code;
}

int List(CommandEnv& env, const std::vector<std::string>& args) {
  std::string selector;
  bool json = false;
  ArgParser parser("clownix lan ls [--selector S] [--json]",
                   "Lists LANs and what is connected to each.");
  parser.AddString("selector", "S", "label selector: k=v,k!=v,k,!k (all must hold)", &selector);
  parser.AddBool("json", "print the ListLansResponse as JSON", &json);
  if (int code = ParseOrExit(env, "lan ls", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(0, 0, "no arguments"); !usage.ok()) {
    return env.UsageError("lan ls", usage);
  }
  v1::ListRequest request;
  request.set_label_selector(selector);
  v1::ListLansResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().topology().ListLans(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  if (json) {
    env.out() << ToJson(response, /*pretty=*/true) << "\n";
    return kExitOk;
  }
  // The endpoints column comes from the topology's links.
  v1::Network network;
  grpc::ClientContext topology_context;
  env.client().SetDeadline(topology_context);
  status =
      env.client().topology().GetTopology(&topology_context, v1::GetTopologyRequest(), &network);
  if (!status.ok()) return env.RpcError(status);
  std::map<std::string, std::vector<std::string>> endpoints;
  for (const v1::Link& link : network.links()) {
    endpoints[link.lan()].push_back(EndpointText(link.endpoint()));
  }
  Table table({"NAME", "MODE", "ENDPOINTS", "LABELS"});
  for (const v1::Lan& lan : response.lans()) {
    auto it = endpoints.find(lan.name());
    table.AddRow({lan.name(), LanModeText(lan.mode()),
                  it == endpoints.end() ? "-" : absl::StrJoin(it->second, " "),
                  LabelsText(lan.labels())});
  }
  table.Print(env.out());
  return kExitOk;
}

constexpr Command kLanCommands[] = {
    {"add", "NAME [--mode switch|hub] [--label K=V]...", "define a LAN", Add},
    {"rm", "NAME...", "delete LANs", Remove},
    {"ls", "[--selector S] [--json]", "list LANs", List},
};

}  // namespace

int RunLanCommand(CommandEnv& env, const std::vector<std::string>& args) {
  return RunCommandTable(env, "lan", "Emulated Ethernet segments.", kLanCommands, args);
}

}  // namespace clownix::cli
