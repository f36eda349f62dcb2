#include "server/runtime_responses.h"

#include "absl/strings/str_format.h"

namespace clownix::server {

namespace ctl = switchcore::ctl;

clownix::v1::LanStats BuildLanStats(const std::string& lan,
                                    const std::vector<SwitchDriver::Port>& ports,
                                    const CounterReader& read_counters,
                                    const PortIdentifier& identify) {
  clownix::v1::LanStats stats;
  stats.set_lan(lan);
  for (const SwitchDriver::Port& port : ports) {
    if (port.lan != lan) continue;
    clownix::v1::PortStats* out = stats.add_ports();
    if (std::optional<EndpointRef> endpoint = identify(port)) {
      *out->mutable_endpoint() = endpoint->ToProto();
    }
    if (port.kind == ctl::PortKind::kVm && port.mac_known) {
      const auto& mac = port.mac;
      out->set_mac(absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                                   mac[4], mac[5]));
    }
    absl::StatusOr<SwitchDriver::Counters> counters = read_counters(port.port_id);
    out->set_up(counters.ok());
    if (!counters.ok()) continue;
    out->set_rx_frames(counters->rx_frames);
    out->set_rx_bytes(counters->rx_bytes);
    out->set_tx_frames(counters->tx_frames);
    out->set_tx_bytes(counters->tx_bytes);
    const auto& d = counters->drops;
    out->set_drops_malformed(d[ctl::kDropTooShort] + d[ctl::kDropTooLong] + d[ctl::kDropBadSource]);
    out->set_drops_queue_full(d[ctl::kDropQueueFull] + d[ctl::kDropPeerGone] +
                              d[ctl::kDropTapError]);
    out->set_drops_impairment(d[ctl::kDropImpairLoss] + d[ctl::kDropImpairQueue]);
  }
  return stats;
}

clownix::v1::ExecResponse BuildExecResponse(int exit_code, std::string output, bool truncated) {
  clownix::v1::ExecResponse response;
  response.set_exit_code(exit_code);
  response.set_output(std::move(output));
  response.set_truncated(truncated);
  return response;
}

}  // namespace clownix::server
