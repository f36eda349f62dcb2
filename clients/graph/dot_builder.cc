#include "clients/graph/dot_builder.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/common/vm_facts.h"
#include "clients/graph/dot_text.h"

namespace clownix::graph {
namespace {

// User strings (labels, reasons) are cut so one long value cannot stretch the layout.
constexpr size_t kMaxLabelChars = 40;
constexpr size_t kMaxLabelsShown = 3;

struct StateStyle {
  const char* name;
  const char* fill;
  const char* border;
};

StateStyle StyleOf(v1::VmState state) {
  switch (state) {
    case v1::VM_STATE_DEFINED:
      return {"defined", "#ffffff", "#374151"};
    case v1::VM_STATE_BOOTING:
      return {"booting", "#fde68a", "#a16207"};
    case v1::VM_STATE_RUNNING:
      return {"running", "#bbf7d0", "#15803d"};
    case v1::VM_STATE_STOPPING:
      return {"stopping", "#fed7aa", "#c2410c"};
    case v1::VM_STATE_STOPPED:
      return {"stopped", "#d1d5db", "#4b5563"};
    case v1::VM_STATE_CRASHED:
      return {"crashed", "#fca5a5", "#b91c1c"};
    default:
      return {"unknown", "#ffffff", "#9ca3af"};
  }
}

// The states in the legend, in life-cycle order.
constexpr v1::VmState kLegendStates[] = {
    v1::VM_STATE_DEFINED,  v1::VM_STATE_BOOTING, v1::VM_STATE_RUNNING,
    v1::VM_STATE_STOPPING, v1::VM_STATE_STOPPED, v1::VM_STATE_CRASHED,
};

constexpr char kLanFill[] = "#dbeafe";
constexpr char kLanBorder[] = "#1d4ed8";
constexpr char kTapFill[] = "#ede9fe";
constexpr char kTapBorder[] = "#6d28d9";
constexpr char kLinkUp[] = "#1f2937";
constexpr char kLinkDown[] = "#9ca3af";
constexpr char kLinkImpaired[] = "#c2410c";
constexpr char kMuted[] = "#4b5563";
constexpr char kNotice[] = "#b91c1c";

std::string VmId(absl::string_view name) { return DotQuote(absl::StrCat("vm:", name)); }
std::string LanId(absl::string_view name) { return DotQuote(absl::StrCat("lan:", name)); }
std::string TapId(absl::string_view name) { return DotQuote(absl::StrCat("tap:", name)); }

std::string Plural(size_t count, absl::string_view one, absl::string_view many) {
  return absl::StrCat(count, " ", count == 1 ? one : many);
}

std::string FormatMicros(uint64_t us) {
  if (us < 1000) return absl::StrCat(us, "µs");
  if (us < 1000000) return absl::StrFormat("%gms", us / 1e3);
  return absl::StrFormat("%gs", us / 1e6);
}

std::string FormatRate(uint64_t kbps) {
  if (kbps >= 1000000) return absl::StrFormat("%gGbit/s", kbps / 1e6);
  if (kbps >= 1000) return absl::StrFormat("%gMbit/s", kbps / 1e3);
  return absl::StrCat(kbps, "kbit/s");
}

// "delay 10ms ±2ms loss 1% ..." or empty for a perfect link.
std::string FormatImpairment(const v1::Impairment& impairment) {
  std::vector<std::string> parts;
  if (impairment.delay_us() > 0 || impairment.jitter_us() > 0) {
    std::string delay = absl::StrCat("delay ", FormatMicros(impairment.delay_us()));
    if (impairment.jitter_us() > 0) {
      absl::StrAppend(&delay, " ±", FormatMicros(impairment.jitter_us()));
    }
    parts.push_back(delay);
  }
  const std::pair<const char*, double> percents[] = {
      {"loss", impairment.loss_percent()},
      {"dup", impairment.duplicate_percent()},
      {"corrupt", impairment.corrupt_percent()},
      {"reorder", impairment.reorder_percent()},
  };
  for (const auto& [what, percent] : percents) {
    if (percent > 0) parts.push_back(absl::StrFormat("%s %g%%", what, percent));
  }
  if (impairment.rate_kbps() > 0) {
    parts.push_back(absl::StrCat("rate ", FormatRate(impairment.rate_kbps())));
  }
  return absl::StrJoin(parts, " ");
}

// Sorted "key=value" strings of a label map (protobuf maps have no stable order).
std::vector<std::string> SortedLabels(const google::protobuf::Map<std::string, std::string>& map) {
  std::vector<std::string> labels;
  for (const auto& [key, value] : map) labels.push_back(absl::StrCat(key, "=", value));
  std::sort(labels.begin(), labels.end());
  return labels;
}

// A line of small muted text for an HTML-like label.
std::string SmallLine(absl::string_view html) {
  return absl::StrCat("<br/><font point-size=\"8\" color=\"", kMuted, "\">", html, "</font>");
}

struct Node {
  std::string attributes;  // without the brackets
};

struct Edge {
  std::string endpoint_id;  // a VM or tap node
  std::string lan_id;
  std::string attributes;
  std::string sort_key;
};

class Picture {
 public:
  void AddNode(const std::string& id, std::string attributes) {
    nodes_.emplace(id, Node{std::move(attributes)});
  }
  bool HasNode(const std::string& id) const { return nodes_.count(id) > 0; }
  void AddEdge(Edge edge) { edges_.push_back(std::move(edge)); }

  // Breadth-first discovery order: LAN nodes first (roots in name order), then whatever is left.
  std::map<std::string, size_t> DiscoveryOrder(const std::vector<std::string>& roots) const {
    std::map<std::string, std::set<std::string>> adjacent;
    for (const Edge& edge : edges_) {
      adjacent[edge.endpoint_id].insert(edge.lan_id);
      adjacent[edge.lan_id].insert(edge.endpoint_id);
    }
    std::map<std::string, size_t> order;
    auto walk = [&](const std::string& root) {
      if (order.count(root)) return;
      std::deque<std::string> queue = {root};
      order.emplace(root, order.size());
      while (!queue.empty()) {
        std::string id = queue.front();
        queue.pop_front();
        for (const std::string& next : adjacent[id]) {
          if (order.emplace(next, order.size()).second) queue.push_back(next);
        }
      }
    };
    for (const std::string& root : roots) walk(root);
    for (const auto& [id, node] : nodes_) walk(id);
    return order;
  }

  const std::map<std::string, Node>& nodes() const { return nodes_; }
  std::vector<Edge> SortedEdges() const {
    std::vector<Edge> edges = edges_;
    std::stable_sort(edges.begin(), edges.end(),
                     [](const Edge& a, const Edge& b) { return a.sort_key < b.sort_key; });
    return edges;
  }

 private:
  std::map<std::string, Node> nodes_;
  std::vector<Edge> edges_;
};

std::string PlaceholderNode(absl::string_view kind, absl::string_view name) {
  return absl::StrCat("shape=box, style=\"rounded,dotted\", color=\"", kMuted, "\", label=<",
                      DotHtml(name), SmallLine(absl::StrCat(kind, " not shown")), ">");
}

std::string VmNode(const v1::Vm& vm) {
  StateStyle style = StyleOf(vm.state());
  std::string label = absl::StrCat("<b>", DotHtml(vm.name()), "</b>");
  if (vm.number() > 0)
    absl::StrAppend(&label, " <font color=\"", kMuted, "\">#", vm.number(), "</font>");
  absl::StrAppend(&label, "<br/><font point-size=\"9\"><b>", style.name, "</b></font>");
  if (!vm.admin_ip().empty()) absl::StrAppend(&label, "<br/>", DotHtml(vm.admin_ip()));
  if (!clients::HasAdminNetwork(vm)) absl::StrAppend(&label, SmallLine("no admin network"));
  std::vector<std::string> facts;
  if (vm.mem_mib() > 0) facts.push_back(absl::StrCat(vm.mem_mib(), " MiB"));
  uint32_t nics = std::max<uint32_t>(vm.nic_count(), vm.nics_size());
  if (nics > 0) facts.push_back(Plural(nics, "NIC", "NICs"));
  if (!facts.empty()) absl::StrAppend(&label, "<br/>", absl::StrJoin(facts, " · "));
  if (!vm.state_reason().empty()) {
    absl::StrAppend(&label, SmallLine(DotHtml(Ellipsize(vm.state_reason(), kMaxLabelChars))));
  }
  std::vector<std::string> labels = SortedLabels(vm.labels());
  for (size_t i = 0; i < labels.size() && i < kMaxLabelsShown; ++i) {
    absl::StrAppend(&label, SmallLine(DotHtml(Ellipsize(labels[i], kMaxLabelChars))));
  }
  if (labels.size() > kMaxLabelsShown) {
    absl::StrAppend(&label,
                    SmallLine(absl::StrCat("+", labels.size() - kMaxLabelsShown, " more labels")));
  }
  bool thick = vm.state() == v1::VM_STATE_CRASHED;
  return absl::StrCat("shape=box, style=\"rounded,filled\", fillcolor=\"", style.fill,
                      "\", color=\"", style.border, "\", penwidth=\"", thick ? "2.2" : "1.4",
                      "\", label=<", label, ">");
}

std::string LanNode(const v1::Lan& lan, size_t ports) {
  const char* mode = lan.mode() == v1::LAN_MODE_HUB ? "hub" : "switch";
  std::string label = absl::StrCat("<b>", DotHtml(lan.name()), "</b><br/><font point-size=\"9\">",
                                   mode, " · ", Plural(ports, "port", "ports"), "</font>");
  std::vector<std::string> labels = SortedLabels(lan.labels());
  for (size_t i = 0; i < labels.size() && i < kMaxLabelsShown; ++i) {
    absl::StrAppend(&label, SmallLine(DotHtml(Ellipsize(labels[i], kMaxLabelChars))));
  }
  return absl::StrCat("shape=ellipse, style=\"filled",
                      lan.mode() == v1::LAN_MODE_HUB ? ",dashed" : "", "\", fillcolor=\"", kLanFill,
                      "\", color=\"", kLanBorder, "\", penwidth=\"1.6\", label=<", label, ">");
}

std::string TapNode(const v1::Tap& tap) {
  std::string label = absl::StrCat("<b>", DotHtml(tap.name()), "</b>",
                                   "<br/><font point-size=\"9\">host tap</font>");
  std::vector<std::string> labels = SortedLabels(tap.labels());
  for (size_t i = 0; i < labels.size() && i < kMaxLabelsShown; ++i) {
    absl::StrAppend(&label, SmallLine(DotHtml(Ellipsize(labels[i], kMaxLabelChars))));
  }
  return absl::StrCat("shape=cds, style=filled, fillcolor=\"", kTapFill, "\", color=\"", kTapBorder,
                      "\", penwidth=\"1.4\", margin=\"0.2,0.06\", label=<", label, ">");
}

// The edge of one link: NIC name and impairments as the label, style by state.
std::string EdgeAttributes(absl::string_view nic, bool up, const v1::Impairment& to_lan,
                           const v1::Impairment& from_lan) {
  std::string tx = FormatImpairment(to_lan);
  std::string rx = FormatImpairment(from_lan);
  std::string label = absl::StrCat("<b>", DotHtml(nic), "</b>");
  if (!tx.empty() && tx == rx) {
    absl::StrAppend(&label, "<br/>tx/rx ", DotHtml(tx));
  } else {
    if (!tx.empty()) absl::StrAppend(&label, "<br/>tx ", DotHtml(tx));
    if (!rx.empty()) absl::StrAppend(&label, "<br/>rx ", DotHtml(rx));
  }
  bool impaired = !tx.empty() || !rx.empty();
  const char* color = !up ? kLinkDown : impaired ? kLinkImpaired : kLinkUp;
  return absl::StrCat("style=", up ? "solid" : "dashed", ", color=\"", color, "\", fontcolor=\"",
                      impaired ? kLinkImpaired : kMuted, "\", penwidth=\"", impaired ? "2" : "1.3",
                      "\", label=<", label, ">");
}

std::string StateCounts(const std::vector<const v1::Vm*>& vms) {
  std::map<int, size_t> counts;
  for (const v1::Vm* vm : vms) ++counts[vm->state()];
  std::vector<std::string> parts;
  for (v1::VmState state : kLegendStates) {
    auto it = counts.find(state);
    if (it != counts.end()) parts.push_back(absl::StrCat(it->second, " ", StyleOf(state).name));
  }
  auto unknown = counts.find(v1::VM_STATE_UNSPECIFIED);
  if (unknown != counts.end()) parts.push_back(absl::StrCat(unknown->second, " unknown"));
  return parts.empty() ? "" : absl::StrCat(" (", absl::StrJoin(parts, ", "), ")");
}

}  // namespace

std::string DotBuilder::Build(const v1::Network& network) const {
  std::vector<const v1::Vm*> vms;
  for (const v1::Vm& vm : network.vms()) vms.push_back(&vm);
  std::sort(vms.begin(), vms.end(),
            [](const v1::Vm* a, const v1::Vm* b) { return a->name() < b->name(); });
  std::vector<const v1::Lan*> lans;
  for (const v1::Lan& lan : network.lans()) lans.push_back(&lan);
  std::sort(lans.begin(), lans.end(),
            [](const v1::Lan* a, const v1::Lan* b) { return a->name() < b->name(); });

  Picture picture;
  std::set<std::string> linked_nics;  // "vm/index" of the NICs `links` covers
  std::map<std::string, size_t> ports;
  size_t links_down = 0;
  auto add_edge = [&](std::string endpoint_id, const std::string& lan, std::string attributes,
                      std::string sort_key) {
    ++ports[lan];
    picture.AddEdge({std::move(endpoint_id), LanId(lan), std::move(attributes),
                     absl::StrCat(lan, "\x01", sort_key)});
  };
  for (const v1::Link& link : network.links()) {
    if (!link.up()) ++links_down;
    if (link.endpoint().has_nic()) {
      const v1::NicRef& nic = link.endpoint().nic();
      linked_nics.insert(absl::StrCat(nic.vm(), "/", nic.index()));
      add_edge(VmId(nic.vm()), link.lan(),
               EdgeAttributes(absl::StrCat("eth", nic.index()), link.up(), link.to_lan(),
                              link.from_lan()),
               absl::StrCat("vm:", nic.vm(), "/", nic.index()));
    } else {
      add_edge(TapId(link.endpoint().tap()), link.lan(),
               EdgeAttributes("tap", link.up(), link.to_lan(), link.from_lan()),
               absl::StrCat("tap:", link.endpoint().tap()));
    }
  }
  // NICs that say they are on a LAN but have no link in `links` (eth0 is the admin NIC: its admin
  // IP is in the VM's box rather than an edge to every VM).
  size_t links = network.links_size();
  for (const v1::Vm* vm : vms) {
    for (const v1::Nic& nic : vm->nics()) {
      if (nic.index() == 0 || nic.lan().empty()) continue;
      if (linked_nics.count(absl::StrCat(vm->name(), "/", nic.index()))) continue;
      ++links;
      if (!nic.link_up()) ++links_down;
      add_edge(VmId(vm->name()), nic.lan(),
               EdgeAttributes(absl::StrCat("eth", nic.index()), nic.link_up(), {}, {}),
               absl::StrCat("vm:", vm->name(), "/", nic.index()));
    }
  }

  std::vector<std::string> roots;
  for (const v1::Lan* lan : lans) {
    picture.AddNode(LanId(lan->name()), LanNode(*lan, ports[lan->name()]));
    roots.push_back(LanId(lan->name()));
  }
  for (const v1::Vm* vm : vms) picture.AddNode(VmId(vm->name()), VmNode(*vm));
  for (const v1::Tap& tap : network.taps()) picture.AddNode(TapId(tap.name()), TapNode(tap));
  for (const v1::Link& link : network.links()) {
    if (!picture.HasNode(LanId(link.lan()))) {
      picture.AddNode(LanId(link.lan()), PlaceholderNode("lan", link.lan()));
    }
    if (link.endpoint().has_nic() && !picture.HasNode(VmId(link.endpoint().nic().vm()))) {
      picture.AddNode(VmId(link.endpoint().nic().vm()),
                      PlaceholderNode("vm", link.endpoint().nic().vm()));
    }
    if (!link.endpoint().has_nic() && !picture.HasNode(TapId(link.endpoint().tap()))) {
      picture.AddNode(TapId(link.endpoint().tap()), PlaceholderNode("tap", link.endpoint().tap()));
    }
  }
  for (const v1::Vm* vm : vms) {
    for (const v1::Nic& nic : vm->nics()) {
      if (nic.index() == 0 || nic.lan().empty() || picture.HasNode(LanId(nic.lan()))) continue;
      picture.AddNode(LanId(nic.lan()), PlaceholderNode("lan", nic.lan()));
    }
  }

  // Header: title line, counts, notice, legend. One column of rows; the legend rows are nested
  // tables so their cells size independently of the title.
  std::string when;
  if (options_.time != absl::InfinitePast()) {
    when = absl::StrCat(options_.time_is_revision_time ? " at " : " as of ",
                        absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", options_.time, options_.zone));
  }
  std::string header = absl::StrCat(
      "<table border=\"0\" cellborder=\"0\" cellspacing=\"2\" cellpadding=\"1\">",
      "<tr><td align=\"left\"><font point-size=\"18\"><b>", DotHtml(options_.title),
      "</b></font><font point-size=\"13\">  revision ", network.revision(), DotHtml(when),
      "</font></td></tr>", "<tr><td align=\"left\"><font point-size=\"11\" color=\"", kMuted, "\">",
      Plural(vms.size(), "VM", "VMs"), StateCounts(vms), " · ", Plural(lans.size(), "LAN", "LANs"),
      " · ", Plural(network.taps_size(), "tap", "taps"), " · ", Plural(links, "link", "links"),
      links_down > 0 ? absl::StrCat(" (", links_down, " down)") : "", "</font></td></tr>");
  if (!options_.notice.empty()) {
    absl::StrAppend(&header, "<tr><td align=\"left\"><font point-size=\"12\" color=\"", kNotice,
                    "\"><b>", DotHtml(options_.notice), "</b></font></td></tr>");
  }
  absl::StrAppend(&header,
                  "<tr><td align=\"left\"><table border=\"0\" cellborder=\"0\" cellspacing=\"3\" "
                  "cellpadding=\"1\"><tr><td><font point-size=\"10\">VM states:</font></td>");
  for (v1::VmState state : kLegendStates) {
    StateStyle style = StyleOf(state);
    absl::StrAppend(&header, "<td border=\"1\" style=\"rounded\" bgcolor=\"", style.fill,
                    "\" color=\"", style.border, "\"><font point-size=\"10\">  ", style.name,
                    "  </font></td>");
  }
  absl::StrAppend(
      &header, "</tr></table></td></tr><tr><td align=\"left\"><font point-size=\"10\">",
      "box: VM (name #number, state, admin IP, memory, NICs) · ", "<font color=\"", kLanBorder,
      "\">ellipse: LAN</font> (dashed: hub) · ", "<font color=\"", kTapBorder,
      "\">arrow: host tap</font>",
      "</font></td></tr><tr><td align=\"left\"><font point-size=\"10\">",
      "edges: a NIC on a LAN · ——— up · <font color=\"", kLinkDown, "\">- - - down</font> · ",
      "<font color=\"", kLinkImpaired, "\">——— impaired</font> ",
      "(tx: frames the VM or tap sends, rx: frames it receives)</font></td></tr></table>");

  std::string dot = absl::StrCat(
      "// clownix topology, revision ", network.revision(), ". Generated by clownix-graph.\n",
      "graph clownix {\n",
      "  graph [rankdir=LR, fontname=\"Helvetica\", bgcolor=\"white\", pad=\"0.3\", ",
      "nodesep=\"0.3\", ranksep=\"1.1\", labelloc=t, labeljust=l, label=<", header, ">];\n",
      "  node [fontname=\"Helvetica\", fontsize=\"11\", margin=\"0.15,0.06\"];\n",
      "  edge [fontname=\"Helvetica\", fontsize=\"9\"];\n");
  for (const auto& [id, node] : picture.nodes()) {
    absl::StrAppend(&dot, "  ", id, " [", node.attributes, "];\n");
  }
  std::map<std::string, size_t> order = picture.DiscoveryOrder(roots);
  for (const Edge& edge : picture.SortedEdges()) {
    bool endpoint_first = order[edge.endpoint_id] < order[edge.lan_id];
    const std::string& tail = endpoint_first ? edge.endpoint_id : edge.lan_id;
    const std::string& head = endpoint_first ? edge.lan_id : edge.endpoint_id;
    absl::StrAppend(&dot, "  ", tail, " -- ", head, " [", edge.attributes, "];\n");
  }
  dot += "}\n";
  return dot;
}

}  // namespace clownix::graph
