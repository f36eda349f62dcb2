#include "clients/cli/topo_command.h"

#include "clients/cli/format.h"
#include "clients/cli/table.h"

namespace clownix::cli {

int RunTopoCommand(CommandEnv& env, const std::vector<std::string>& args) {
  std::string selector;
  bool json = false;
  ArgParser parser("clownix topo [--json] [--selector S]",
                   "Shows the whole topology at the current revision: VMs, LANs, taps, links.\n"
                   "--json prints it as the protobuf JSON mapping of clownix.v1.Network, the "
                   "format 'clownix apply' reads.");
  parser.AddBool("json", "print the Network as JSON", &json);
  parser.AddString("selector", "S", "only objects whose labels match", &selector);
  if (int code = ParseOrExit(env, "topo", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(0, 0, "no arguments"); !usage.ok()) {
    return env.UsageError("topo", usage);
  }
  v1::GetTopologyRequest request;
  request.set_label_selector(selector);
  v1::Network network;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().topology().GetTopology(&context, request, &network);
  if (!status.ok()) return env.RpcError(status);
  if (json) {
    env.out() << ToJson(network, /*pretty=*/true) << "\n";
    return kExitOk;
  }
  env.out() << "revision " << network.revision() << "\n";
  // The server's memory budget and boot queue; a server without the call (or without VMs) shows
  // none.
  v1::ServerInfo info;
  grpc::ClientContext info_context;
  env.client().SetDeadline(info_context);
  if (env.client().machines().GetServerInfo(&info_context, {}, &info).ok()) {
    if (std::string text = ServerInfoText(info); !text.empty()) env.out() << text << "\n";
  }
  env.out() << "\n";
  Table vms({"VM", "#", "STATE", "IMAGE", "MEM", "ADMIN-IP", "NICS", "LABELS"});
  for (const v1::Vm& vm : network.vms()) {
    vms.AddRow({vm.name(), std::to_string(vm.number()), VmStateText(vm), ImageText(vm),
                std::to_string(vm.mem_mib()) + "M", AdminText(vm), NicsText(vm),
                LabelsText(vm.labels())});
  }
  vms.Print(env.out());
  env.out() << "\n";
  Table lans({"LAN", "MODE", "LABELS"});
  for (const v1::Lan& lan : network.lans()) {
    lans.AddRow({lan.name(), LanModeText(lan.mode()), LabelsText(lan.labels())});
  }
  lans.Print(env.out());
  if (network.taps_size() > 0) {
    env.out() << "\n";
    Table taps({"TAP", "LAN", "LABELS"});
    for (const v1::Tap& tap : network.taps()) {
      taps.AddRow({tap.name(), tap.lan().empty() ? "-" : tap.lan(), LabelsText(tap.labels())});
    }
    taps.Print(env.out());
  }
  env.out() << "\n";
  Table links({"ENDPOINT", "LAN", "LINK", "TO-LAN", "FROM-LAN"});
  for (const v1::Link& link : network.links()) {
    links.AddRow({EndpointText(link.endpoint()), link.lan(), link.up() ? "up" : "down",
                  ImpairmentText(link.to_lan()), ImpairmentText(link.from_lan())});
  }
  links.Print(env.out());
  return kExitOk;
}

}  // namespace clownix::cli
