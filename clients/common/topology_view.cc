#include "clients/common/topology_view.h"

#include <algorithm>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace clownix::clients {
namespace {

// "vm\x01name\x01index" or "tap\x01name": the identity of a link (an endpoint has at most one).
std::string EndpointKey(const v1::Endpoint& endpoint) {
  if (endpoint.has_nic()) {
    return absl::StrCat("vm\x01", endpoint.nic().vm(), "\x01", endpoint.nic().index());
  }
  return absl::StrCat("tap\x01", endpoint.tap());
}

bool IsOfVm(const v1::Link& link, const std::string& vm) {
  return link.endpoint().has_nic() && link.endpoint().nic().vm() == vm;
}

bool IsOfTap(const v1::Link& link, const std::string& tap) {
  return !link.endpoint().has_nic() && link.endpoint().tap() == tap;
}

}  // namespace

bool TopologyView::Apply(const v1::WatchResponse& response) {
  bool applied = false;
  if (response.has_snapshot()) {
    ApplySnapshot(response.snapshot().topology());
    applied = true;
  }
  for (const v1::Event& event : response.events()) {
    for (const v1::Change& change : event.changes()) ApplyChange(change);
    revision_ = event.revision();
    revision_time_ = absl::FromUnixMicros(event.time_us());
    applied = true;
  }
  if (response.has_heartbeat() && response.heartbeat().revision() > revision_) {
    revision_ = response.heartbeat().revision();
  }
  return applied;
}

void TopologyView::ApplySnapshot(const v1::Network& network) {
  vms_.clear();
  lans_.clear();
  taps_.clear();
  links_.clear();
  for (const v1::Vm& vm : network.vms()) vms_[vm.name()] = vm;
  for (const v1::Lan& lan : network.lans()) lans_[lan.name()] = lan;
  for (const v1::Tap& tap : network.taps()) taps_[tap.name()] = tap;
  for (const v1::Link& link : network.links()) links_[EndpointKey(link.endpoint())] = link;
  revision_ = network.revision();
  revision_time_ = absl::InfinitePast();
  has_snapshot_ = true;
}

void TopologyView::ApplyChange(const v1::Change& change) {
  bool deleted = change.type() == v1::Change::DELETED;
  auto drop_links = [&](auto belongs) {
    for (auto it = links_.begin(); it != links_.end();) {
      it = belongs(it->second) ? links_.erase(it) : std::next(it);
    }
  };
  switch (change.object_case()) {
    case v1::Change::kVm:
      if (deleted) {
        vms_.erase(change.vm().name());
        // A deleted VM takes its links along even if the server reports them separately.
        drop_links([&](const v1::Link& link) { return IsOfVm(link, change.vm().name()); });
      } else {
        vms_[change.vm().name()] = change.vm();
      }
      break;
    case v1::Change::kLan:
      if (deleted) {
        lans_.erase(change.lan().name());
      } else {
        lans_[change.lan().name()] = change.lan();
      }
      break;
    case v1::Change::kTap:
      if (deleted) {
        taps_.erase(change.tap().name());
        drop_links([&](const v1::Link& link) { return IsOfTap(link, change.tap().name()); });
      } else {
        taps_[change.tap().name()] = change.tap();
      }
      break;
    case v1::Change::kLink:
      if (deleted) {
        links_.erase(EndpointKey(change.link().endpoint()));
      } else {
        links_[EndpointKey(change.link().endpoint())] = change.link();
      }
      break;
    case v1::Change::OBJECT_NOT_SET:
      break;  // A newer server's object kind: nothing a client of this version can show.
  }
}

v1::Network TopologyView::ToNetwork() const {
  v1::Network network;
  network.set_revision(revision_);
  for (const auto& [name, vm] : vms_) *network.add_vms() = vm;
  for (const auto& [name, lan] : lans_) *network.add_lans() = lan;
  for (const auto& [name, tap] : taps_) *network.add_taps() = tap;
  std::vector<const v1::Link*> links;
  for (const auto& [key, link] : links_) links.push_back(&link);
  std::stable_sort(links.begin(), links.end(),
                   [](const v1::Link* a, const v1::Link* b) { return a->lan() < b->lan(); });
  for (const v1::Link* link : links) *network.add_links() = *link;
  return network;
}

std::vector<std::string> TopologyView::LanNames() const {
  std::vector<std::string> names;
  for (const auto& [name, lan] : lans_) names.push_back(name);
  return names;
}

}  // namespace clownix::clients
