#include "clients/cli/labtest/lab_signature.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::cli::labtest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The samples below were printed by a debian guest (FRR 8.4.4, iproute2 6.1) of a two-router
// lab, r1 (VM 1) and r2 (VM 2), running OSPF, OSPFv3, RIP and eBGP; only the ages and timers
// differ from one run to the next.
const VmNames kNames = {{{1, "r1"}, {2, "r2"}}, {"02:42:0a:05:01:01"}};

TEST(NameSeedAddressesTest, NamesTheNicBehindAClownixMacAndKeepsEverythingElse) {
  EXPECT_EQ(NameSeedAddresses("eth1 fe80::ff:fe01:1/64 fe80::ff:fe02:2%eth2 x", kNames),
            "eth1 fe80::{r1/eth1}/64 fe80::{r2/eth2}%eth2 x");
  // Any prefix (SLAAC), and a VM the map does not know.
  EXPECT_EQ(NameSeedAddresses("fd00:1::1ff:fe23:7", kNames), "fd00:1::{vm123/eth7}");
  // A MAC the lab chose (02:42:...) is not clownix's: literal. So are IPv4, times, MACs and
  // addresses that are not EUI-64.
  const std::string kept =
      "fe80::42:aff:fe05:101 10.0.1.1/24 00:01:15 02:00:00:01:00:01 ::1/128 [::]:22 fd00:1::1 "
      "fe80::1";
  EXPECT_EQ(NameSeedAddresses(kept, kNames), kept);
  // A link-local address of any other MAC (a dummy interface's, random at every boot).
  EXPECT_EQ(NameSeedAddresses("dummy0 UNKNOWN 192.168.1.1/24 fe80::9c1d:5fff:fe3a:8e21/64", kNames),
            "dummy0 UNKNOWN 192.168.1.1/24 fe80::{random}/64");
}

TEST(NormalizeAddressesTest, SortsInterfacesAndAddressesAndNamesSeedLinkLocals) {
  EXPECT_THAT(
      NormalizeAddresses(
          "lo               UNKNOWN        127.0.0.1/8 ::1/128 \n"
          "eth1             UNKNOWN        10.0.1.1/24 fd00:1::1/64 fe80::ff:fe01:1/64 \n"
          "eth2             UNKNOWN        10.0.2.1/24 fe80::ff:fe01:2/64 \n",
          kNames),
      ElementsAre("eth1 UNKNOWN 10.0.1.1/24 fd00:1::1/64 fe80::{r1/eth1}/64",
                  "eth2 UNKNOWN 10.0.2.1/24 fe80::{r1/eth2}/64", "lo UNKNOWN 127.0.0.1/8 ::1/128"));
}

TEST(NormalizeKernelRoutesTest, DropsNexthopIdsAndJoinsMultipathNexthops) {
  EXPECT_THAT(
      NormalizeKernelRoutes("10.0.1.0/24 dev eth1 proto kernel scope link src 10.0.1.1 \n"
                            "10.0.3.0/24 nhid 44 via 10.0.1.2 dev eth1 proto bgp metric 20 \n"
                            "10.9.0.0/24 \n"
                            "\tnexthop via 10.0.2.5 dev eth2 weight 1 \n"
                            "\tnexthop via 10.0.1.2 dev eth1 weight 1 \n",
                            kNames),
      ElementsAre("10.0.1.0/24 dev eth1 proto kernel scope link src 10.0.1.1",
                  "10.0.3.0/24 via 10.0.1.2 dev eth1 proto bgp metric 20",
                  "10.9.0.0/24 nexthop via 10.0.1.2 dev eth1 weight 1 nexthop via "
                  "10.0.2.5 dev eth2 weight 1"));
}

TEST(NormalizeKernelRoutesTest, Ipv6RoutesLoseTheirExpiryAndNameSeedNextHops) {
  EXPECT_THAT(
      NormalizeKernelRoutes(
          "fd00:1::/64 dev eth1 proto kernel metric 256 pref medium\n"
          "fd00:8::/64 metric 1024 pref medium\n"
          "\tnexthop via fe80::ff:fe02:1 dev eth1 weight 1 \n"
          "\tnexthop via fe80::ff:fe02:2 dev eth2 weight 1 \n"
          "fd00:9::/64 via fe80::ff:fe02:1 dev eth1 metric 1024 pref medium\n"
          "fe80::/64 dev eth1 proto kernel metric 256 pref medium\n"
          "default via fe80::42:aff:fe05:101 dev eth1 proto ra metric 1024 expires 1797sec "
          "hoplimit 64 pref medium\n",
          kNames),
      ElementsAre("default via fe80::42:aff:fe05:101 dev eth1 proto ra metric 1024 hoplimit 64 "
                  "pref medium",
                  "fd00:1::/64 dev eth1 proto kernel metric 256 pref medium",
                  "fd00:8::/64 metric 1024 pref medium nexthop via fe80::{r2/eth1} dev eth1 "
                  "weight 1 nexthop via fe80::{r2/eth2} dev eth2 weight 1",
                  "fd00:9::/64 via fe80::{r2/eth1} dev eth1 metric 1024 pref medium",
                  "fe80::/64 dev eth1 proto kernel metric 256 pref medium"));
}

TEST(NormalizeListeningTest, KeepsProtocolAndLocalAddressSortedAndUnique) {
  EXPECT_THAT(NormalizeListening("udp UNCONN 0      0        0.0.0.0:520  0.0.0.0:*\n"
                                 "tcp LISTEN 0      1000     0.0.0.0:22   0.0.0.0:*\n"
                                 "tcp LISTEN 0      3      127.0.0.1:2616 0.0.0.0:*\n"
                                 "tcp LISTEN 0      3      127.0.0.1:2601 0.0.0.0:*\n"
                                 "tcp LISTEN 0      3          [::1]:2606    [::]:*\n"
                                 "tcp LISTEN 0      1000        [::]:22      [::]:*\n"
                                 "tcp LISTEN 5      1000        [::]:22      [::]:*\n"),
              ElementsAre("tcp 0.0.0.0:22", "tcp 127.0.0.1:2601", "tcp 127.0.0.1:2616",
                          "tcp [::1]:2606", "tcp [::]:22", "udp 0.0.0.0:520"));
}

constexpr char kShowIpRoute[] =
    "Codes: K - kernel route, C - connected, S - static, R - RIP,\n"
    "       O - OSPF, I - IS-IS, B - BGP, E - EIGRP, N - NHRP,\n"
    "       T - Table, v - VNC, V - VNC-Direct, A - Babel, F - PBR,\n"
    "       f - OpenFabric,\n"
    "       > - selected route, * - FIB route, q - queued, r - rejected, b - backup\n"
    "       t - trapped, o - offload failure\n"
    "\n"
    "O   10.0.1.0/24 [110/10] is directly connected, eth1, weight 1, 00:01:39\n"
    "C>* 10.0.1.0/24 is directly connected, eth1, 00:02:37\n"
    "B>* 10.0.3.0/24 [20/0] via 10.0.1.2, eth1, weight 1, 00:00:12\n"
    "R   10.0.3.0/24 [120/2] via 10.0.1.2, eth1, weight 1, 00:00:13\n"
    "O   10.0.3.0/24 [110/20] via 10.0.1.2, eth1, weight 1, 1d02h03m\n"
    "O>* 10.0.9.0/24 [110/20] via 10.0.1.2, eth1, weight 1, 01w2d03h\n"
    "  *                      via 10.0.2.2, eth2, weight 1, 01w2d03h\n";

TEST(NormalizeFrrRoutesTest, DropsTheLegendAndTheAgesAndJoinsNextHops) {
  EXPECT_THAT(NormalizeFrrRoutes(kShowIpRoute, kNames),
              ElementsAre("B>* 10.0.3.0/24 [20/0] via 10.0.1.2, eth1, weight 1",
                          "C>* 10.0.1.0/24 is directly connected, eth1",
                          "O 10.0.1.0/24 [110/10] is directly connected, eth1, weight 1",
                          "O 10.0.3.0/24 [110/20] via 10.0.1.2, eth1, weight 1",
                          "O>* 10.0.9.0/24 [110/20] via 10.0.1.2, eth1, weight 1 | * via "
                          "10.0.2.2, eth2, weight 1",
                          "R 10.0.3.0/24 [120/2] via 10.0.1.2, eth1, weight 1"));
}

TEST(NormalizeFrrRoutesTest, Ipv6NextHopsAreNamedAndConnectedLinkLocalRoutesLeftOut) {
  EXPECT_THAT(NormalizeFrrRoutes("C>* fd00:1::/64 is directly connected, eth1, 00:02:04\n"
                                 "C * fe80::/64 is directly connected, eth2, 00:02:04\n"
                                 "C>* fe80::/64 is directly connected, eth1, 00:02:04\n"
                                 "O>* fd00:3::/64 [110/20] via fe80::ff:fe02:1, eth1, weight 1, "
                                 "00:00:41\n",
                                 kNames),
              ElementsAre("C>* fd00:1::/64 is directly connected, eth1",
                          "O>* fd00:3::/64 [110/20] via fe80::{r2/eth1}, eth1, weight 1"));
}

TEST(NormalizeOspfNeighborsTest, KeepsIdPriorityStateAddressAndInterface) {
  EXPECT_THAT(NormalizeOspfNeighbors(
                  "\n"
                  "Neighbor ID     Pri State           Up Time         Dead Time Address         "
                  "Interface                        RXmtL RqstL DBsmL\n"
                  "2.2.2.2           1 Full/Backup     54.494s           33.180s 10.0.1.2        "
                  "eth1:10.0.1.1                        0     0     0\n"
                  "3.3.3.3           1 ExStart/DR                        39.001s 10.0.2.3        "
                  "eth2:10.0.2.1                        1     0     0\n"
                  "\n"),
              ElementsAre("2.2.2.2 pri 1 Full 10.0.1.2 eth1:10.0.1.1",
                          "3.3.3.3 pri 1 ExStart 10.0.2.3 eth2:10.0.2.1"));
  EXPECT_THAT(NormalizeOspfNeighbors("% OSPF is not enabled in vrf default\n"),
              ElementsAre("% OSPF is not enabled in vrf default"));
}

TEST(NormalizeOspf6NeighborsTest, KeepsIdPriorityStateAndInterface) {
  EXPECT_THAT(NormalizeOspf6Neighbors(
                  "Neighbor ID     Pri    DeadTime    State/IfState         Duration I/F[State]\n"
                  "2.2.2.2           1    00:00:36     Full/BDR             00:00:48 eth1[DR]\n"),
              ElementsAre("2.2.2.2 pri 1 Full eth1"));
}

constexpr char kBgpSummary[] =
    "\n"
    "IPv4 Unicast Summary (VRF default):\n"
    "BGP router identifier 10.0.2.1, local AS number 65001 vrf-id 0\n"
    "BGP table version 2\n"
    "RIB entries 3, using 576 bytes of memory\n"
    "Peers 1, using 724 KiB of memory\n"
    "\n"
    "Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down State/PfxRcd"
    "   PfxSnt Desc\n"
    "10.0.1.2        4      65002         5         6        0    0    0 00:00:12            1"
    "        2 N/A\n"
    "10.0.13.3       4      65003         0         0        0    0    0    never       Active"
    "        0 N/A\n"
    "\n"
    "Total number of neighbors 2\n";

TEST(NormalizeBgpSummaryTest, KeepsRouterIdAndPerNeighbourStateWithoutCounters) {
  EXPECT_THAT(NormalizeBgpSummary(kBgpSummary, kNames),
              ElementsAre("IPv4 Unicast Summary (VRF default):",
                          "BGP router identifier 10.0.2.1, local AS number 65001 vrf-id 0",
                          "10.0.1.2 as 65002 Established rcvd 1 sent 2",
                          "10.0.13.3 as 65003 Active sent 0", "Total number of neighbors 2"));
  EXPECT_THAT(NormalizeBgpSummary("% No BGP neighbors found in VRF default\n", kNames),
              ElementsAre("% No BGP neighbors found in VRF default"));
}

TEST(NormalizeBgpSummaryTest, ANeighbourTooLongForItsColumnIsJoinedToItsRow) {
  EXPECT_THAT(NormalizeBgpSummary(
                  "Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down "
                  "State/PfxRcd   PfxSnt Desc\n"
                  "fd00:12:34:56::2\n"
                  "                4      65002        10        12        0    0    0 00:02:11 "
                  "           3        5 N/A\n",
                  kNames),
              ElementsAre("fd00:12:34:56::2 as 65002 Established rcvd 3 sent 5"));
}

// What SignatureScript() prints on r1 (the vtysh part shortened to two commands).
std::string RawSignature(const std::string& ages) {
  return absl::StrCat(
      "@@clownix-lab-test@@ addresses\n"
      "lo               UNKNOWN        127.0.0.1/8 ::1/128 \n"
      "eth1             UNKNOWN        10.0.1.1/24 fe80::ff:fe01:1/64 \n"
      "@@clownix-lab-test@@ routes\n"
      "10.0.3.0/24 nhid 32 via 10.0.1.2 dev eth1 proto ospf metric 20 \n"
      "@@clownix-lab-test@@ routes6\n"
      "fe80::/64 dev eth1 proto kernel metric 256 pref medium\n"
      "@@clownix-lab-test@@ listening\n"
      "tcp LISTEN 0      3      127.0.0.1:2604 0.0.0.0:*\n"
      "@@clownix-lab-test@@ vtysh\n"
      "r1# show ip ospf neighbor\n"
      "\n"
      "Neighbor ID     Pri State           Up Time         Dead Time Address         Interface"
      "                        RXmtL RqstL DBsmL\n"
      "2.2.2.2           1 Full/Backup     ",
      ages,
      "           34.636s 10.0.1.2        eth1:10.0.1.1                        0     0     0\n"
      "\n"
      "r1# show bgp summary\n"
      "% No BGP neighbors found in VRF default\n"
      "@@clownix-lab-test@@ test\n"
      "PING 10.0.3.1: ok\n"
      "@@clownix-lab-test@@ not a section: the script printed it\n"
      "\n"
      "@@clownix-lab-test@@ exit 3\n");
}

TEST(NormalizeSignatureTest, SplitsTheProbesAndWritesEverySectionInOrder) {
  absl::StatusOr<std::string> signature = NormalizeSignature("r1", RawSignature("3m13s"), kNames);
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(*signature,
            "# clownix lab signature of \"r1\" (clownix lab test --record; compared by clownix "
            "lab test)\n"
            "[addresses]\n"
            "eth1 UNKNOWN 10.0.1.1/24 fe80::{r1/eth1}/64\n"
            "lo UNKNOWN 127.0.0.1/8 ::1/128\n"
            "[routes]\n"
            "10.0.3.0/24 via 10.0.1.2 dev eth1 proto ospf metric 20\n"
            "[routes6]\n"
            "fe80::/64 dev eth1 proto kernel metric 256 pref medium\n"
            "[listening]\n"
            "tcp 127.0.0.1:2604\n"
            "[ospf-neighbors]\n"
            "2.2.2.2 pri 1 Full 10.0.1.2 eth1:10.0.1.1\n"
            "[bgp-summary]\n"
            "% No BGP neighbors found in VRF default\n"
            "[test]\n"
            "PING 10.0.3.1: ok\n"
            "@@clownix-lab-test@@ not a section: the script printed it\n"
            "exit 3\n");
  // Another run: other ages, the same signature.
  EXPECT_EQ(NormalizeSignature("r1", RawSignature("1d02h03m"), kNames).value(), *signature);
}

TEST(NormalizeSignatureTest, OutputThatIsNotTheProbesIsAnError) {
  absl::StatusOr<std::string> signature =
      NormalizeSignature("r1", "/bin/sh: 1: ip: not found\n", kNames);
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(signature.status().message(), HasSubstr("machine \"r1\""));
}

TEST(SignatureScriptTest, RunsTheTestScriptFromAHereDocumentWhoseDelimiterItDoesNotHold) {
  absl::StatusOr<std::string> script =
      SignatureScript("#!/bin/sh\necho CLOWNIX_LAB_TEST_EOF\nCLOWNIX_LAB_TEST_EOF\nping -c1 x");
  ASSERT_TRUE(script.ok());
  EXPECT_THAT(*script, HasSubstr("<<'CLOWNIX_LAB_TEST_EOF_'\n#!/bin/sh\n"));
  EXPECT_THAT(*script, HasSubstr("ping -c1 x\nCLOWNIX_LAB_TEST_EOF_\n"));
  EXPECT_THAT(*script, HasSubstr("vtysh -E"));
  EXPECT_THAT(SignatureScript("").value(), ::testing::Not(HasSubstr("m test")));
  EXPECT_FALSE(SignatureScript(std::string("a\0b", 3)).ok());
}

TEST(UnsettledReasonsTest, AdjacenciesStillFormingAndSessionsStillOpeningAreReasons) {
  EXPECT_THAT(UnsettledReasons("[ospf-neighbors]\n"
                               "2.2.2.2 pri 1 Full 10.0.1.2 eth1:10.0.1.1\n"
                               "[bgp-summary]\n"
                               "10.0.1.2 as 65002 Established rcvd 1 sent 2\n"),
              IsEmpty());
  EXPECT_THAT(UnsettledReasons("[ospf-neighbors]\n"
                               "2.2.2.2 pri 1 ExStart 10.0.1.2 eth1:10.0.1.1\n"
                               "[ospf6-neighbors]\n"
                               "2.2.2.2 pri 1 Loading eth1\n"
                               "[bgp-summary]\n"
                               "10.0.13.3 as 65003 Active sent 0\n"),
              ElementsAre("bgp neighbor 10.0.13.3 is Active",
                          "ospf neighbor 2.2.2.2 on eth1:10.0.1.1 is ExStart",
                          "ospf neighbor 2.2.2.2 on v3 eth1 is Loading"));
}

TEST(UnsettledReasonsTest, TwoWayIsFinalOnlyBesideAFullAdjacency) {
  // Before the DR election every neighbour is 2-Way.
  EXPECT_THAT(UnsettledReasons("[ospf-neighbors]\n"
                               "2.2.2.2 pri 1 2-Way 10.0.1.2 eth1:10.0.1.1\n"),
              ElementsAre("ospf neighbor 2.2.2.2 on eth1:10.0.1.1 is 2-Way"));
  // After it, two DROthers stay 2-Way while both are Full with the DR and the BDR.
  EXPECT_THAT(UnsettledReasons("[ospf-neighbors]\n"
                               "2.2.2.2 pri 1 2-Way 10.0.1.2 eth1:10.0.1.1\n"
                               "3.3.3.3 pri 1 Full 10.0.1.3 eth1:10.0.1.1\n"),
              IsEmpty());
}

}  // namespace
}  // namespace clownix::cli::labtest
