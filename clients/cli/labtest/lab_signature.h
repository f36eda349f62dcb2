// The signature of a running lab machine, as `clownix lab test` records and compares it (Netkit's
// ltest): what the machine has converged to, with everything that changes from run to run taken
// out, so that two runs of a working lab give the same text.
//
// How it is taken: one Exec per machine runs SignatureScript(), which prints the raw output of
// each probe after a marker line ("@@clownix-lab-test@@ NAME"): `ip -br addr`, `ip route`,
// `ip -6 route`, `ss -ltnuH`, and, for each FRR daemon whose pid file names a live process, one
// `vtysh -E` call with every FRR `show` command (vtysh echoes "HOST# COMMAND" before each
// output, which splits it again). Last comes the output of the lab's _test/MACHINE.test script,
// when there is one. NormalizeSignature() turns that raw text into the signature file:
//
//   [addresses]          one line per interface, sorted; addresses sorted within the line
//   [routes] [routes6]   kernel routes, sorted; "nhid N" and "expires Ns" removed; multipath
//                        next hops joined on the route's line, sorted
//   [listening]          "tcp 0.0.0.0:179", sorted, unique
//   [frr-routes] [frr-routes6]  FRR's RIB without the legend and the route ages, sorted
//   [ospf-neighbors] [ospf6-neighbors]  neighbour id, priority, state without the DR/BDR role
//                        (the election's winner depends on who booted first), address,
//                        interface; no timers or queue lengths
//   [bgp-summary]        router id and AS, per neighbour: AS and state, or the prefixes
//                        received and sent when Established; no counters, versions or ages
//   [test]               the script's output as it is, and "exit N" when it failed
//
// IPv6 addresses whose interface identifier is the EUI-64 of a clownix MAC (02:00:..:..:00:NN,
// which follows the VM's number and so changes with the order VMs were created) are written as
// the prefix and the machine's NIC: "fe80::{r1/eth1}". MACs a lab chose (lab.conf's
// dev[N]="lan/MAC") stay literal; link-local addresses of random MACs become "fe80::{random}".
// FRR's connected fe80::/64 routes are left out (which of several is selected varies; the kernel
// routes list them). All functions are pure and thread-safe.
#ifndef CLOWNIX_CLIENTS_CLI_LABTEST_LAB_SIGNATURE_H_
#define CLOWNIX_CLIENTS_CLI_LABTEST_LAB_SIGNATURE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::cli::labtest {

// What names the interface identifiers of IPv6 addresses: VM number -> VM name, for the NIC
// behind a clownix MAC (a number not in the map is written "vmN"); and the MACs a lab chose for
// its NICs, lower case ("02:42:0a:05:01:01"). A link-local address whose identifier is the EUI-64
// of any other MAC (a dummy, bridge or veth interface's MAC is random at every boot) is written
// "fe80::{random}".
struct VmNames {
  std::map<int, std::string> vms;
  std::set<std::string> chosen_macs;
};

// The shell script (for /bin/sh in a debian guest) that prints the raw signature. `test_script`
// is the lab's _test/MACHINE.test ("" when there is none): it is written to a file in the guest
// and run there (its #! line is honoured). INVALID_ARGUMENT when the script holds a NUL byte.
absl::StatusOr<std::string> SignatureScript(absl::string_view test_script);

// The signature file's text from the script's output. `machine` names the machine in the first
// line. INVALID_ARGUMENT when `raw` is not the script's output (no marker line first).
absl::StatusOr<std::string> NormalizeSignature(absl::string_view machine, absl::string_view raw,
                                               const VmNames& names);

// Why a signature does not look settled yet (OSPF adjacencies still forming, BGP sessions
// opening), one reason per line; empty when it looks settled. `--record` waits for this to be
// empty and for the signature to stop changing.
std::vector<std::string> UnsettledReasons(absl::string_view signature);

// The normalizers of the sections, each from the probe's raw output to the section's lines.
std::vector<std::string> NormalizeAddresses(absl::string_view raw, const VmNames& names);
std::vector<std::string> NormalizeKernelRoutes(absl::string_view raw, const VmNames& names);
std::vector<std::string> NormalizeListening(absl::string_view raw);
std::vector<std::string> NormalizeFrrRoutes(absl::string_view raw, const VmNames& names);
std::vector<std::string> NormalizeOspfNeighbors(absl::string_view raw);
std::vector<std::string> NormalizeOspf6Neighbors(absl::string_view raw);
std::vector<std::string> NormalizeBgpSummary(absl::string_view raw, const VmNames& names);

// `text` with every IPv6 address that ends in the EUI-64 of a clownix MAC written as
// "PREFIX::{vm/ethN}", and every link-local one of a random MAC as "fe80::{random}".
std::string NameSeedAddresses(absl::string_view text, const VmNames& names);

}  // namespace clownix::cli::labtest

#endif  // CLOWNIX_CLIENTS_CLI_LABTEST_LAB_SIGNATURE_H_
