#include "clients/cli/stats_command.h"

#include "clients/cli/format.h"
#include "clients/cli/table.h"

namespace clownix::cli {

int RunStatsCommand(CommandEnv& env, const std::vector<std::string>& args) {
  bool json = false;
  ArgParser parser("clownix stats LAN [--json]",
                   "Per-port counters of a LAN as the switch sees them. RX: from the endpoint; "
                   "TX: to it.\nDrops: malformed / receiver queue full / impairment.");
  parser.AddBool("json", "print the LanStats as JSON", &json);
  if (int code = ParseOrExit(env, "stats", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, 1, "LAN"); !usage.ok()) {
    return env.UsageError("stats", usage);
  }
  v1::GetLanStatsRequest request;
  request.set_lan(parser.positionals()[0]);
  v1::LanStats stats;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().lan_switch().GetLanStats(&context, request, &stats);
  if (!status.ok()) return env.RpcError(status);
  if (json) {
    env.out() << ToJson(stats, /*pretty=*/true) << "\n";
    return kExitOk;
  }
  Table table({"PORT", "MAC", "LINK", "RX-FRAMES", "RX-BYTES", "TX-FRAMES", "TX-BYTES",
               "DROPS(MAL/QUEUE/IMP)"});
  for (const v1::PortStats& port : stats.ports()) {
    table.AddRow({EndpointText(port.endpoint()), port.mac().empty() ? "-" : port.mac(),
                  port.up() ? "up" : "down", std::to_string(port.rx_frames()),
                  std::to_string(port.rx_bytes()), std::to_string(port.tx_frames()),
                  std::to_string(port.tx_bytes()),
                  std::to_string(port.drops_malformed()) + "/" +
                      std::to_string(port.drops_queue_full()) + "/" +
                      std::to_string(port.drops_impairment())});
  }
  table.Print(env.out());
  return kExitOk;
}

}  // namespace clownix::cli
