#include "server/topology_state.h"

#include "absl/strings/str_cat.h"
#include "server/label_selector.h"
#include "server/log.h"

namespace clownix::server {

using clownix::v1::Change;
using clownix::v1::Endpoint;
using clownix::v1::Link;

std::string EndpointKey(const Endpoint& endpoint) {
  if (endpoint.has_nic()) return absl::StrCat(endpoint.nic().vm(), "/eth", endpoint.nic().index());
  return absl::StrCat("tap:", endpoint.tap());
}

namespace {

template <typename T>
const T* Find(const std::map<std::string, T>& map, const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

}  // namespace

const clownix::v1::Vm* TopologyState::FindVm(const std::string& name) const {
  return Find(vms_, name);
}
const clownix::v1::Lan* TopologyState::FindLan(const std::string& name) const {
  return Find(lans_, name);
}
const clownix::v1::Tap* TopologyState::FindTap(const std::string& name) const {
  return Find(taps_, name);
}
const Link* TopologyState::FindLink(const std::string& endpoint_key) const {
  return Find(links_, endpoint_key);
}

const std::set<std::string>& TopologyState::LinksOnLan(const std::string& lan) const {
  static const std::set<std::string> kNone;
  auto it = links_by_lan_.find(lan);
  return it == links_by_lan_.end() ? kNone : it->second;
}

uint32_t TopologyState::NextVmNumber() const {
  return free_vm_numbers_.empty() ? max_vm_number_ + 1 : *free_vm_numbers_.begin();
}

void TopologyState::UpsertVm(const clownix::v1::Vm& vm) {
  auto [it, inserted] = vms_.try_emplace(vm.name(), vm);
  if (!inserted) {
    CLOWNIX_CHECK(it->second.number() == vm.number(),
                  absl::StrCat("vm ", vm.name(), " changed its number"));
    it->second = vm;
  }
  // Journals and snapshots written before Vm.admin existed: every VM had the admin network.
  if (!it->second.has_admin()) it->second.set_admin(true);
  // ... and they all ran the one image there was.
  if (it->second.image().empty()) it->second.set_image(kBuiltinImage);
  if (!inserted) return;
  uint32_t number = vm.number();
  if (number > max_vm_number_) {
    for (uint32_t n = max_vm_number_ + 1; n < number; ++n) free_vm_numbers_.insert(n);
    max_vm_number_ = number;
  } else {
    CLOWNIX_CHECK(free_vm_numbers_.erase(number) == 1,
                  absl::StrCat("vm number ", number, " used twice"));
  }
}

void TopologyState::EraseVm(const std::string& name) {
  auto it = vms_.find(name);
  if (it == vms_.end()) return;
  free_vm_numbers_.insert(it->second.number());
  vms_.erase(it);
}

void TopologyState::UpsertLink(const Link& link) {
  std::string key = EndpointKey(link.endpoint());
  auto it = links_.find(key);
  if (it != links_.end() && it->second.lan() != link.lan()) EraseLink(key);
  links_[key] = link;
  links_by_lan_[link.lan()].insert(key);
}

void TopologyState::EraseLink(const std::string& key) {
  auto it = links_.find(key);
  if (it == links_.end()) return;
  auto by_lan = links_by_lan_.find(it->second.lan());
  by_lan->second.erase(key);
  if (by_lan->second.empty()) links_by_lan_.erase(by_lan);
  links_.erase(it);
}

void TopologyState::Apply(const clownix::v1::Event& event) {
  CLOWNIX_CHECK(event.revision() == revision_ + 1,
                absl::StrCat("event ", event.revision(), " applied at revision ", revision_));
  for (const Change& change : event.changes()) {
    bool erase = change.type() == Change::DELETED;
    switch (change.object_case()) {
      case Change::kVm:
        erase ? EraseVm(change.vm().name()) : UpsertVm(change.vm());
        break;
      case Change::kLan:
        if (erase) {
          lans_.erase(change.lan().name());
        } else {
          lans_[change.lan().name()] = change.lan();
        }
        break;
      case Change::kTap:
        if (erase) {
          taps_.erase(change.tap().name());
        } else {
          taps_[change.tap().name()] = change.tap();
        }
        break;
      case Change::kLink:
        erase ? EraseLink(EndpointKey(change.link().endpoint())) : UpsertLink(change.link());
        break;
      case Change::OBJECT_NOT_SET:
        Fatal(__FILE__, __LINE__, absl::StrCat("event ", event.revision(), " has an empty change"));
    }
  }
  revision_ = event.revision();
}

bool TopologyState::LinkMatches(const Link& link, const LabelSelector& selector) const {
  if (const auto* lan = FindLan(link.lan()); lan && selector.Matches(lan->labels())) return true;
  const Endpoint& endpoint = link.endpoint();
  if (endpoint.has_nic()) {
    const auto* vm = FindVm(endpoint.nic().vm());
    return vm && selector.Matches(vm->labels());
  }
  const auto* tap = FindTap(endpoint.tap());
  return tap && selector.Matches(tap->labels());
}

clownix::v1::Network TopologyState::ToNetwork(const LabelSelector* selector) const {
  clownix::v1::Network network;
  network.set_revision(revision_);
  for (const auto& [name, vm] : vms_) {
    if (!selector || selector->Matches(vm.labels())) *network.add_vms() = vm;
  }
  for (const auto& [name, lan] : lans_) {
    if (!selector || selector->Matches(lan.labels())) *network.add_lans() = lan;
  }
  for (const auto& [name, tap] : taps_) {
    if (!selector || selector->Matches(tap.labels())) *network.add_taps() = tap;
  }
  for (const auto& [key, link] : links_) {
    if (!selector || LinkMatches(link, *selector)) *network.add_links() = link;
  }
  return network;
}

absl::StatusOr<TopologyState> TopologyState::FromNetwork(const clownix::v1::Network& network) {
  TopologyState state;
  for (const auto& lan : network.lans()) state.lans_[lan.name()] = lan;
  for (const auto& tap : network.taps()) state.taps_[tap.name()] = tap;
  for (const auto& vm : network.vms()) {
    if (vm.number() == 0 || state.vms_.count(vm.name()) ||
        (vm.number() <= state.max_vm_number_ && !state.free_vm_numbers_.count(vm.number()))) {
      return absl::InvalidArgumentError(
          absl::StrCat("snapshot: vm \"", vm.name(), "\" is duplicated or has a bad number"));
    }
    state.UpsertVm(vm);
  }
  for (const auto& link : network.links()) {
    const Endpoint& endpoint = link.endpoint();
    bool endpoint_ok = endpoint.has_nic() ? state.vms_.count(endpoint.nic().vm()) > 0
                                          : state.taps_.count(endpoint.tap()) > 0;
    if (!endpoint_ok || !state.lans_.count(link.lan())) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot: link ", EndpointKey(endpoint),
                                                     " names an object that does not exist"));
    }
    state.UpsertLink(link);
  }
  state.revision_ = network.revision();
  return state;
}

}  // namespace clownix::server
