#include "clients/cli/labtest/lab_signature.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/seed_rules.h"

namespace clownix::cli::labtest {
namespace {

constexpr absl::string_view kMarker = "@@clownix-lab-test@@ ";

// The sections in the order the signature file lists them.
constexpr absl::string_view kSections[] = {
    "addresses",   "routes",         "routes6",         "listening",   "frr-routes",
    "frr-routes6", "ospf-neighbors", "ospf6-neighbors", "bgp-summary", "test",
};

// The FRR commands of the vtysh call, and the section each one's output goes to.
struct VtyshCommand {
  const char* daemon;  // Only asked when this daemon runs.
  const char* command;
  absl::string_view section;
};
constexpr VtyshCommand kVtyshCommands[] = {
    {"zebra", "show ip route", "frr-routes"},
    {"zebra", "show ipv6 route", "frr-routes6"},
    {"ospfd", "show ip ospf neighbor", "ospf-neighbors"},
    {"ospf6d", "show ipv6 ospf6 neighbor", "ospf6-neighbors"},
    {"bgpd", "show bgp summary", "bgp-summary"},
};

std::vector<std::string> Words(absl::string_view line) {
  return absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

std::vector<absl::string_view> Lines(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

bool IsBlank(absl::string_view line) { return absl::StripAsciiWhitespace(line).empty(); }

bool IsNumber(absl::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), absl::ascii_isdigit);
}

std::vector<std::string> Sorted(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

// An IPv6 address ending in the EUI-64 of a clownix MAC, written with the NIC's name.
std::optional<std::string> NamedSeedAddress(const std::string& candidate, const VmNames& names) {
  in6_addr address;
  if (candidate.find(':') == std::string::npos ||
      inet_pton(AF_INET6, candidate.c_str(), &address) != 1) {
    return std::nullopt;
  }
  const uint8_t* b = address.s6_addr;
  if (b[11] != 0xff || b[12] != 0xfe) return std::nullopt;
  std::array<uint8_t, 6> mac = {
      static_cast<uint8_t>(b[8] ^ 0x02), b[9], b[10], b[13], b[14], b[15]};
  std::optional<common::VmNic> nic = common::ParseVmMac(mac);
  const bool link_local = b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
  if (!nic.has_value()) {
    std::string text = absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                                       mac[3], mac[4], mac[5]);
    if (!link_local || names.chosen_macs.count(text) > 0) return std::nullopt;
    return std::string("fe80::{random}");
  }
  std::memset(address.s6_addr + 8, 0, 8);
  char prefix[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, &address, prefix, sizeof(prefix)) == nullptr) return std::nullopt;
  auto name = names.vms.find(nic->vm);
  return absl::StrCat(prefix, "{",
                      name != names.vms.end() ? name->second : absl::StrCat("vm", nic->vm), "/eth",
                      nic->eth, "}");
}

bool IsAddressChar(char c) { return absl::ascii_isxdigit(c) || c == ':'; }

// "HH:MM:SS", "1d02h03m", "01w2d03h": the age FRR appends to a route.
bool IsAge(absl::string_view word) {
  return !word.empty() && std::any_of(word.begin(), word.end(), absl::ascii_isdigit) &&
         std::all_of(word.begin(), word.end(), [](char c) {
           return absl::ascii_isdigit(c) || c == ':' || c == 'd' || c == 'h' || c == 'w' ||
                  c == 'm';
         });
}

// One route line of `show ip route` without its age, spaces collapsed.
std::string WithoutAge(absl::string_view line) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(line);
  size_t comma = trimmed.rfind(", ");
  if (comma != absl::string_view::npos && IsAge(trimmed.substr(comma + 2))) {
    trimmed = trimmed.substr(0, comma);
  }
  return absl::StrJoin(Words(trimmed), " ");
}

// The role part of an OSPF state ("Full/DR" -> "Full").
std::string StateWithoutRole(absl::string_view state) {
  return std::string(state.substr(0, state.find('/')));
}

}  // namespace

std::string NameSeedAddresses(absl::string_view text, const VmNames& names) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsAddressChar(text[i]) ||
        (i > 0 && (absl::ascii_isalnum(text[i - 1]) || text[i - 1] == ':' || text[i - 1] == '.'))) {
      out.push_back(text[i++]);
      continue;
    }
    size_t end = i;
    while (end < text.size() && IsAddressChar(text[end])) ++end;
    std::string candidate(text.substr(i, end - i));
    std::optional<std::string> named;
    // Not followed by more of a word ("fe80::1x", "::1.2.3.4").
    if (end == text.size() || !(absl::ascii_isalnum(text[end]) || text[end] == '.')) {
      named = NamedSeedAddress(candidate, names);
    }
    absl::StrAppend(&out, named.has_value() ? *named : candidate);
    i = end;
  }
  return out;
}

absl::StatusOr<std::string> SignatureScript(absl::string_view test_script) {
  if (test_script.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("the test script holds a NUL byte");
  }
  std::string script = absl::StrCat(
      "m() { echo '", kMarker, "'\"$1\"; }\n",
      "m addresses; ip -br addr 2>&1\n"
      "m routes; ip route 2>&1\n"
      "m routes6; ip -6 route 2>&1\n"
      "m listening; ss -ltnuH 2>&1\n"
      "up() { [ -r /run/frr/$1.pid ] && kill -0 \"$(cat /run/frr/$1.pid)\" 2>/dev/null; }\n"
      "set --\n");
  for (const VtyshCommand& command : kVtyshCommands) {
    absl::StrAppend(&script, "if up ", command.daemon, "; then set -- \"$@\" -c '", command.command,
                    "'; fi\n");
  }
  absl::StrAppend(&script, "if [ $# -gt 0 ]; then m vtysh; vtysh -E \"$@\" 2>&1; fi\n");
  if (!test_script.empty()) {
    // A here-document delimiter that is no line of the script.
    std::string delimiter = "CLOWNIX_LAB_TEST_EOF";
    std::set<absl::string_view> lines;
    for (absl::string_view line : Lines(test_script)) lines.insert(line);
    while (lines.count(delimiter) > 0) delimiter += "_";
    absl::StrAppend(&script, "m test\n", "f=/tmp/clownix-lab-test.$$\n", "cat > \"$f\" <<'",
                    delimiter, "'\n", test_script, absl::EndsWith(test_script, "\n") ? "" : "\n",
                    delimiter, "\n",
                    "chmod 755 \"$f\"; \"$f\" </dev/null 2>&1; rc=$?; rm -f \"$f\"\n",
                    // The output may lack its last newline: one is always added, and taken off.
                    "echo; m \"exit $rc\"\n");
  }
  return script;
}

std::vector<std::string> NormalizeAddresses(absl::string_view raw, const VmNames& names) {
  std::vector<std::string> out;
  for (absl::string_view line : Lines(raw)) {
    std::vector<std::string> words = Words(NameSeedAddresses(line, names));
    if (words.empty()) continue;
    if (words.size() > 2) std::sort(words.begin() + 2, words.end());
    out.push_back(absl::StrJoin(words, " "));
  }
  return Sorted(std::move(out));
}

std::vector<std::string> NormalizeKernelRoutes(absl::string_view raw, const VmNames& names) {
  struct Route {
    std::string head;
    std::vector<std::string> nexthops;
  };
  std::vector<Route> routes;
  for (absl::string_view line : Lines(raw)) {
    if (IsBlank(line)) continue;
    std::vector<std::string> words = Words(NameSeedAddresses(line, names));
    std::vector<std::string> kept;
    for (size_t i = 0; i < words.size(); ++i) {
      // Next-hop ids are numbered as routes come and go; RA routes count down their lifetime.
      if ((words[i] == "nhid" || words[i] == "expires") && i + 1 < words.size()) {
        ++i;
        continue;
      }
      kept.push_back(words[i]);
    }
    std::string text = absl::StrJoin(kept, " ");
    if ((line[0] == ' ' || line[0] == '\t') && !routes.empty()) {
      routes.back().nexthops.push_back(std::move(text));
    } else {
      routes.push_back({std::move(text), {}});
    }
  }
  std::vector<std::string> out;
  for (Route& route : routes) {
    std::sort(route.nexthops.begin(), route.nexthops.end());
    route.nexthops.insert(route.nexthops.begin(), route.head);
    out.push_back(absl::StrJoin(route.nexthops, " "));
  }
  return Sorted(std::move(out));
}

std::vector<std::string> NormalizeListening(absl::string_view raw) {
  std::set<std::string> out;
  for (absl::string_view line : Lines(raw)) {
    std::vector<std::string> words = Words(line);
    // Netid State Recv-Q Send-Q Local:Port Peer:Port [Process]
    if (words.size() < 5) continue;
    out.insert(absl::StrCat(words[0], " ", words[4]));
  }
  return std::vector<std::string>(out.begin(), out.end());
}

std::vector<std::string> NormalizeFrrRoutes(absl::string_view raw, const VmNames& names) {
  std::vector<std::string> entries;
  bool in_legend = false;
  for (absl::string_view line : Lines(raw)) {
    if (absl::StartsWith(line, "Codes:")) in_legend = true;
    if (in_legend) {
      in_legend = !IsBlank(line);
      continue;
    }
    if (IsBlank(line)) continue;
    std::string text = WithoutAge(NameSeedAddresses(line, names));
    if (absl::StrContains(text, " fe80::/64 is directly connected")) continue;
    // A further next hop of the same route starts with spaces ("  *  via 10.0.2.2, eth2").
    if ((line[0] == ' ' || line[0] == '\t') && !entries.empty()) {
      absl::StrAppend(&entries.back(), " | ", text);
    } else {
      entries.push_back(std::move(text));
    }
  }
  return Sorted(std::move(entries));
}

std::vector<std::string> NormalizeOspfNeighbors(absl::string_view raw) {
  std::vector<std::string> out;
  for (absl::string_view line : Lines(raw)) {
    if (IsBlank(line) || absl::StartsWith(line, "Neighbor ID")) continue;
    std::vector<std::string> w = Words(line);
    // Neighbor-ID Pri State [Up-Time] Dead-Time Address Interface RXmtL RqstL DBsmL
    size_t n = w.size();
    if (n >= 8 && IsNumber(w[1]) && IsNumber(w[n - 1]) && IsNumber(w[n - 2]) &&
        IsNumber(w[n - 3])) {
      out.push_back(absl::StrCat(w[0], " pri ", w[1], " ", StateWithoutRole(w[2]), " ", w[n - 5],
                                 " ", w[n - 4]));
    } else {
      out.push_back(absl::StrJoin(w, " "));
    }
  }
  return Sorted(std::move(out));
}

std::vector<std::string> NormalizeOspf6Neighbors(absl::string_view raw) {
  std::vector<std::string> out;
  for (absl::string_view line : Lines(raw)) {
    if (IsBlank(line) || absl::StartsWith(line, "Neighbor ID")) continue;
    std::vector<std::string> w = Words(line);
    // Neighbor-ID Pri DeadTime State/IfState Duration I/F[State]
    if (w.size() == 6 && IsNumber(w[1])) {
      absl::string_view interface = w[5];
      interface = interface.substr(0, interface.find('['));
      out.push_back(absl::StrCat(w[0], " pri ", w[1], " ", StateWithoutRole(w[3]), " ", interface));
    } else {
      out.push_back(absl::StrJoin(w, " "));
    }
  }
  return Sorted(std::move(out));
}

std::vector<std::string> NormalizeBgpSummary(absl::string_view raw, const VmNames& names) {
  std::vector<std::string> out;
  bool in_table = false;
  std::string wrapped;  // A neighbour name too long for its column, alone on its line.
  for (absl::string_view raw_line : Lines(raw)) {
    std::string line = NameSeedAddresses(raw_line, names);
    if (IsBlank(line)) {
      in_table = false;
      continue;
    }
    if (absl::StartsWith(line, "BGP table version") || absl::StartsWith(line, "RIB entries") ||
        absl::StartsWith(line, "Peers ")) {
      continue;
    }
    if (absl::StartsWith(line, "Neighbor ") && absl::StrContains(line, "MsgRcvd")) {
      in_table = true;
      continue;
    }
    std::vector<std::string> w = Words(line);
    if (!in_table) {
      out.push_back(absl::StrJoin(w, " "));
      continue;
    }
    if (w.size() == 1) {
      wrapped = w[0];
      continue;
    }
    if (!wrapped.empty()) {
      w.insert(w.begin(), wrapped);
      wrapped.clear();
    }
    // Neighbor V AS MsgRcvd MsgSent TblVer InQ OutQ Up/Down State/PfxRcd... PfxSnt Desc
    if (w.size() < 12) {
      out.push_back(absl::StrJoin(w, " "));
      continue;
    }
    std::string state = absl::StrJoin(w.begin() + 9, w.end() - 2, " ");
    const std::string& sent = w[w.size() - 2];
    if (IsNumber(state)) {
      out.push_back(absl::StrCat(w[0], " as ", w[2], " Established rcvd ", state, " sent ", sent));
    } else {
      out.push_back(absl::StrCat(w[0], " as ", w[2], " ", state, " sent ", sent));
    }
  }
  return out;
}

absl::StatusOr<std::string> NormalizeSignature(absl::string_view machine, absl::string_view raw,
                                               const VmNames& names) {
  if (!absl::StartsWith(raw, kMarker)) {
    return absl::InvalidArgumentError(
        absl::StrCat("machine \"", machine,
                     "\": the signature probe printed no section (is it a debian "
                     "guest?): ",
                     raw.substr(0, 200)));
  }
  std::map<std::string, std::string> sections;
  // The test script's output is everything between the "test" marker and the last line's
  // "exit N" marker, whatever it prints.
  size_t test_start = raw.find(absl::StrCat("\n", kMarker, "test\n"));
  absl::string_view before = raw;
  if (test_start != absl::string_view::npos) {
    before = raw.substr(0, test_start + 1);
    absl::string_view rest = raw.substr(test_start + 1 + kMarker.size() + std::strlen("test\n"));
    absl::string_view output = rest;
    int exit_code = -1;
    size_t exit_marker = rest.rfind(absl::StrCat("\n", kMarker, "exit "));
    if (exit_marker != absl::string_view::npos) {
      output = rest.substr(0, exit_marker);
      absl::string_view code = absl::StripAsciiWhitespace(
          rest.substr(exit_marker + 1 + kMarker.size() + std::strlen("exit ")));
      if (!absl::SimpleAtoi(code, &exit_code)) exit_code = -1;
    }
    std::string text(output);
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
    if (exit_code != 0) {
      absl::StrAppend(&text, exit_code < 0 ? "the test script did not finish\n"
                                           : absl::StrCat("exit ", exit_code, "\n"));
    }
    sections["test"] = std::move(text);
  }
  std::string current;
  std::map<std::string, std::string> probes;
  for (absl::string_view line : Lines(before)) {
    if (absl::ConsumePrefix(&line, kMarker)) {
      current = std::string(line);
      probes[current];
      continue;
    }
    absl::StrAppend(&probes[current], line, "\n");
  }
  auto put = [&sections](absl::string_view name, const std::vector<std::string>& lines) {
    std::string& text = sections[std::string(name)];
    for (const std::string& line : lines) absl::StrAppend(&text, line, "\n");
  };
  for (const auto& [probe, output] : probes) {
    if (probe == "addresses") put(probe, NormalizeAddresses(output, names));
    if (probe == "routes" || probe == "routes6") put(probe, NormalizeKernelRoutes(output, names));
    if (probe == "listening") put(probe, NormalizeListening(output));
    if (probe != "vtysh") continue;
    // vtysh -E echoes "HOST# COMMAND" before each command's output.
    std::map<absl::string_view, std::string> outputs;
    absl::string_view section;
    for (absl::string_view line : Lines(output)) {
      bool echo = false;
      for (const VtyshCommand& command : kVtyshCommands) {
        size_t hash = line.find("# ");
        if (hash != absl::string_view::npos && line.substr(hash + 2) == command.command &&
            line.substr(0, hash).find(' ') == absl::string_view::npos) {
          section = command.section;
          outputs[section];
          echo = true;
        }
      }
      if (!echo && !section.empty()) absl::StrAppend(&outputs[section], line, "\n");
    }
    for (const auto& [name, text] : outputs) {
      if (name == "frr-routes" || name == "frr-routes6") put(name, NormalizeFrrRoutes(text, names));
      if (name == "ospf-neighbors") put(name, NormalizeOspfNeighbors(text));
      if (name == "ospf6-neighbors") put(name, NormalizeOspf6Neighbors(text));
      if (name == "bgp-summary") put(name, NormalizeBgpSummary(text, names));
    }
  }
  std::string signature = absl::StrCat("# clownix lab signature of \"", machine,
                                       "\" (clownix lab test --record; compared by clownix lab "
                                       "test)\n");
  for (absl::string_view name : kSections) {
    auto section = sections.find(std::string(name));
    if (section == sections.end()) continue;
    absl::StrAppend(&signature, "[", name, "]\n", section->second);
  }
  return signature;
}

std::vector<std::string> UnsettledReasons(absl::string_view signature) {
  std::vector<std::string> reasons;
  std::string section;
  struct Neighbor {
    std::string id, state, interface;
  };
  std::vector<Neighbor> ospf;
  for (absl::string_view line : Lines(signature)) {
    if (absl::StartsWith(line, "[") && absl::EndsWith(line, "]")) {
      section = std::string(line.substr(1, line.size() - 2));
      continue;
    }
    std::vector<std::string> w = Words(line);
    if (section == "ospf-neighbors" && w.size() == 6 && w[1] == "pri") {
      ospf.push_back({w[0], w[3], w[5]});
    } else if (section == "ospf6-neighbors" && w.size() == 5 && w[1] == "pri") {
      ospf.push_back({w[0], w[3], absl::StrCat("v3 ", w[4])});
    } else if (section == "bgp-summary" && w.size() >= 4 && w[1] == "as") {
      static const std::set<std::string> kOpening = {"Idle",     "Connect",     "Active",
                                                     "OpenSent", "OpenConfirm", "Clearing"};
      if (kOpening.count(w[3]) > 0) {
        reasons.push_back(absl::StrCat("bgp neighbor ", w[0], " is ", w[3]));
      }
    }
  }
  for (const Neighbor& neighbor : ospf) {
    if (neighbor.state == "Full") continue;
    // Two routers that are neither DR nor BDR stay in 2-Way for good; before the election every
    // neighbour is 2-Way, so 2-Way is final only once someone on the interface is Full.
    bool full_beside = std::any_of(ospf.begin(), ospf.end(), [&neighbor](const Neighbor& other) {
      return other.interface == neighbor.interface && other.state == "Full";
    });
    if (neighbor.state == "2-Way" && full_beside) continue;
    reasons.push_back(absl::StrCat("ospf neighbor ", neighbor.id, " on ", neighbor.interface,
                                   " is ", neighbor.state));
  }
  return reasons;
}

}  // namespace clownix::cli::labtest
