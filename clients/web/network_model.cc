#include "clients/web/network_model.h"

#include <iterator>

#include "absl/strings/str_cat.h"

namespace clownix::web {

std::string EndpointKey(const v1::Endpoint& endpoint) {
  if (endpoint.has_nic()) {
    return absl::StrCat("nic:", endpoint.nic().vm(), "/", endpoint.nic().index());
  }
  return absl::StrCat("tap:", endpoint.tap());
}

void NetworkModel::Apply(const v1::WatchResponse& response) {
  if (response.has_snapshot()) {
    const v1::Network& network = response.snapshot().topology();
    vms_.clear();
    lans_.clear();
    taps_.clear();
    links_.clear();
    for (const v1::Vm& vm : network.vms()) vms_[vm.name()] = vm;
    for (const v1::Lan& lan : network.lans()) lans_[lan.name()] = lan;
    for (const v1::Tap& tap : network.taps()) taps_[tap.name()] = tap;
    for (const v1::Link& link : network.links()) links_[EndpointKey(link.endpoint())] = link;
    revision_ = network.revision();
    has_snapshot_ = true;
  }
  for (const v1::Event& event : response.events()) {
    for (const v1::Change& change : event.changes()) ApplyChange(change);
    revision_ = event.revision();
  }
  if (response.has_heartbeat() && response.heartbeat().revision() > revision_) {
    revision_ = response.heartbeat().revision();
  }
}

void NetworkModel::ApplyChange(const v1::Change& change) {
  const bool deleted = change.type() == v1::Change::DELETED;
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
        drop_links([&](const v1::Link& link) {
          return link.endpoint().has_nic() && link.endpoint().nic().vm() == change.vm().name();
        });
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
        drop_links([&](const v1::Link& link) {
          return !link.endpoint().has_nic() && link.endpoint().tap() == change.tap().name();
        });
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
      break;  // A newer server's object kind: pages get the event as it is and may skip it.
  }
}

v1::Network NetworkModel::ToNetwork() const {
  v1::Network network;
  network.set_revision(revision_);
  for (const auto& [name, vm] : vms_) *network.add_vms() = vm;
  for (const auto& [name, lan] : lans_) *network.add_lans() = lan;
  for (const auto& [name, tap] : taps_) *network.add_taps() = tap;
  for (const auto& [key, link] : links_) *network.add_links() = link;
  return network;
}

std::vector<std::string> NetworkModel::LanNames() const {
  std::vector<std::string> names;
  for (const auto& [name, lan] : lans_) names.push_back(name);
  return names;
}

}  // namespace clownix::web
