#include "server/runtime_responses.h"

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

namespace ctl = switchcore::ctl;

SwitchDriver::Port Port(uint64_t id, const std::string& lan, ctl::PortKind kind) {
  SwitchDriver::Port port;
  port.port_id = id;
  port.lan = lan;
  port.kind = kind;
  return port;
}

TEST(BuildLanStats, OnePortEntryPerPortOfTheLan) {
  SwitchDriver::Port vm = Port(1, "blue", ctl::PortKind::kVm);
  vm.mac_known = true;
  vm.mac = {0x02, 0x00, 0x00, 0x01, 0x00, 0x0a};
  SwitchDriver::Port tap = Port(2, "blue", ctl::PortKind::kTap);
  tap.tap_name = "t0";
  SwitchDriver::Port elsewhere = Port(3, "red", ctl::PortKind::kVm);
  SwitchDriver::Port unknown = Port(4, "blue", ctl::PortKind::kVm);  // no MAC yet

  auto counters = [](uint64_t id) -> absl::StatusOr<SwitchDriver::Counters> {
    if (id == 4) return absl::UnavailableError("no counters slot");
    SwitchDriver::Counters c;
    c.rx_frames = 10 * id;
    c.rx_bytes = 1000 * id;
    c.tx_frames = 20 * id;
    c.tx_bytes = 2000 * id;
    c.drops[ctl::kDropTooShort] = 1;
    c.drops[ctl::kDropTooLong] = 2;
    c.drops[ctl::kDropBadSource] = 4;
    c.drops[ctl::kDropQueueFull] = 8;
    c.drops[ctl::kDropPeerGone] = 16;
    c.drops[ctl::kDropTapError] = 32;
    c.drops[ctl::kDropImpairLoss] = 64;
    c.drops[ctl::kDropImpairQueue] = 128;
    return c;
  };
  auto identify = [](const SwitchDriver::Port& port) -> std::optional<EndpointRef> {
    if (port.port_id == 1) return EndpointRef::Nic("a", 1);
    if (port.port_id == 2) return EndpointRef::Tap("t0");
    return std::nullopt;
  };

  clownix::v1::LanStats stats =
      BuildLanStats("blue", {vm, tap, elsewhere, unknown}, counters, identify);
  EXPECT_EQ(stats.lan(), "blue");
  ASSERT_EQ(stats.ports_size(), 3);

  const clownix::v1::PortStats& a = stats.ports(0);
  EXPECT_EQ(a.endpoint().nic().vm(), "a");
  EXPECT_EQ(a.endpoint().nic().index(), 1u);
  EXPECT_EQ(a.mac(), "02:00:00:01:00:0a");
  EXPECT_TRUE(a.up());
  EXPECT_EQ(a.rx_frames(), 10u);
  EXPECT_EQ(a.rx_bytes(), 1000u);
  EXPECT_EQ(a.tx_frames(), 20u);
  EXPECT_EQ(a.tx_bytes(), 2000u);
  EXPECT_EQ(a.drops_malformed(), 1u + 2 + 4);
  EXPECT_EQ(a.drops_queue_full(), 8u + 16 + 32);
  EXPECT_EQ(a.drops_impairment(), 64u + 128);

  const clownix::v1::PortStats& t = stats.ports(1);
  EXPECT_EQ(t.endpoint().tap(), "t0");
  EXPECT_EQ(t.mac(), "");
  EXPECT_EQ(t.rx_frames(), 20u);

  const clownix::v1::PortStats& u = stats.ports(2);
  EXPECT_FALSE(u.has_endpoint());
  EXPECT_FALSE(u.up());
  EXPECT_EQ(u.rx_frames(), 0u);
}

TEST(BuildLanStats, ALanWithoutPortsHasNone) {
  clownix::v1::LanStats stats = BuildLanStats(
      "empty", {Port(1, "blue", ctl::PortKind::kVm)},
      [](uint64_t) { return SwitchDriver::Counters{}; },
      [](const SwitchDriver::Port&) { return std::nullopt; });
  EXPECT_EQ(stats.lan(), "empty");
  EXPECT_EQ(stats.ports_size(), 0);
}

TEST(BuildExecResponse, CarriesTheResult) {
  clownix::v1::ExecResponse response = BuildExecResponse(137, "partial", true);
  EXPECT_EQ(response.exit_code(), 137);
  EXPECT_EQ(response.output(), "partial");
  EXPECT_TRUE(response.truncated());
}

}  // namespace
}  // namespace clownix::server
