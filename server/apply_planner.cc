#include "server/apply_planner.h"

#include <map>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/seed_rules.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/mutation_rules.h"

namespace clownix::server {
namespace {

using clownix::v1::Endpoint;
using clownix::v1::Impairment;
using clownix::v1::Lan;
using clownix::v1::Link;
using clownix::v1::PlanItem;
using clownix::v1::Tap;
using clownix::v1::Vm;
using google::protobuf::util::MessageDifferencer;

PlannedStep Step(PlanItem::Action action, const std::string& kind, const std::string& name,
                 const std::string& detail, Mutation mutation) {
  PlannedStep step;
  step.item.set_action(action);
  step.item.set_kind(kind);
  step.item.set_name(name);
  step.item.set_detail(detail);
  step.mutation = std::move(mutation);
  return step;
}

bool SameLabels(const google::protobuf::Map<std::string, std::string>& a,
                const google::protobuf::Map<std::string, std::string>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || it->second != v) return false;
  }
  return true;
}

// MACs compare in any case (the rules keep them in lower case).
bool SameMacs(const google::protobuf::Map<uint32_t, std::string>& a,
              const google::protobuf::Map<uint32_t, std::string>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [index, mac] : a) {
    auto it = b.find(index);
    if (it == b.end() || !absl::EqualsIgnoreCase(it->second, mac)) return false;
  }
  return true;
}

std::string ImpairmentText(const Impairment& i) {
  if (MessageDifferencer::Equals(i, Impairment())) return "none";
  std::string text;
  if (i.delay_us()) absl::StrAppend(&text, "delay ", i.delay_us(), "us ");
  if (i.jitter_us()) absl::StrAppend(&text, "jitter ", i.jitter_us(), "us ");
  if (i.loss_percent() > 0) absl::StrAppend(&text, "loss ", i.loss_percent(), "% ");
  if (i.duplicate_percent() > 0) absl::StrAppend(&text, "dup ", i.duplicate_percent(), "% ");
  if (i.corrupt_percent() > 0) absl::StrAppend(&text, "corrupt ", i.corrupt_percent(), "% ");
  if (i.reorder_percent() > 0) absl::StrAppend(&text, "reorder ", i.reorder_percent(), "% ");
  if (i.rate_kbps()) absl::StrAppend(&text, "rate ", i.rate_kbps(), "kbit/s ");
  if (!text.empty()) text.pop_back();
  return text;
}

// Validates the desired topology on its own, before comparing it with the state.
absl::Status CheckDesired(const clownix::v1::Network& desired) {
  std::set<std::string> vms, lans, taps;
  std::map<std::string, uint32_t> nic_counts;
  std::set<std::string> with_admin;  // those that say so; an absent admin is the rules' to judge
  for (const Vm& vm : desired.vms()) {
    if (absl::Status s = common::ValidateName("vm", vm.name()); !s.ok()) return s;
    if (!vms.insert(vm.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("vm \"", vm.name(), "\" is listed twice"));
    }
    if (!vm.image().empty()) {
      if (absl::Status s = common::ValidateName("image", vm.image()); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("vm \"", vm.name(), "\": ", s.message()));
      }
    }
    nic_counts[vm.name()] = vm.nic_count() ? vm.nic_count() : 1;
    if (vm.has_admin() && vm.admin()) with_admin.insert(vm.name());
  }
  for (const Lan& lan : desired.lans()) {
    if (absl::Status s = common::ValidateName("lan", lan.name()); !s.ok()) return s;
    if (!lans.insert(lan.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("lan \"", lan.name(), "\" is listed twice"));
    }
  }
  for (const Tap& tap : desired.taps()) {
    if (absl::Status s = common::ValidateTapName(tap.name()); !s.ok()) return s;
    if (!taps.insert(tap.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("tap \"", tap.name(), "\" is listed twice"));
    }
  }
  std::set<std::string> linked;
  for (const Link& link : desired.links()) {
    const Endpoint& e = link.endpoint();
    std::string key = EndpointKey(e);
    if (e.has_nic()) {
      auto it = nic_counts.find(e.nic().vm());
      if (it == nic_counts.end()) {
        return absl::InvalidArgumentError(absl::StrCat("link ", key, ": vm \"", e.nic().vm(),
                                                       "\" is not in the desired topology"));
      }
      if (e.nic().index() >= it->second) {
        return absl::InvalidArgumentError(
            absl::StrCat("link ", key, ": the vm has NICs eth0..eth", it->second - 1));
      }
      if (e.nic().index() == 0 && with_admin.count(e.nic().vm())) {
        return absl::InvalidArgumentError(
            absl::StrCat("link ", key,
                         ": eth0 is the admin NIC of a vm with admin: true (without the admin "
                         "network, eth0 may be linked)"));
      }
    } else if (e.has_tap()) {
      if (!taps.count(e.tap())) {
        return absl::InvalidArgumentError(
            absl::StrCat("link ", key, ": tap \"", e.tap(), "\" is not in the desired topology"));
      }
    } else {
      return absl::InvalidArgumentError("a link has no endpoint: give a VM NIC or a tap");
    }
    if (!lans.count(link.lan())) {
      return absl::InvalidArgumentError(
          absl::StrCat("link ", key, ": lan \"", link.lan(), "\" is not in the desired topology"));
    }
    if (!linked.insert(key).second) {
      return absl::InvalidArgumentError(absl::StrCat(key, " is linked twice"));
    }
    if (absl::Status s = ValidateImpairment(key + " to_lan", link.to_lan()); !s.ok()) return s;
    if (absl::Status s = ValidateImpairment(key + " from_lan", link.from_lan()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool EndpointDesired(const Endpoint& e, const std::set<std::string>& vms,
                     const std::set<std::string>& taps) {
  return e.has_nic() ? vms.count(e.nic().vm()) > 0 : taps.count(e.tap()) > 0;
}

}  // namespace

absl::StatusOr<std::vector<PlannedStep>> PlanApply(const TopologyState& state,
                                                   const clownix::v1::ApplyRequest& request,
                                                   const RuleOptions& rules) {
  const clownix::v1::Network& desired = request.desired();
  if (absl::Status s = CheckDesired(desired); !s.ok()) return s;

  std::set<std::string> desired_vms, desired_lans, desired_taps;
  for (const Vm& vm : desired.vms()) desired_vms.insert(vm.name());
  for (const Lan& lan : desired.lans()) desired_lans.insert(lan.name());
  for (const Tap& tap : desired.taps()) desired_taps.insert(tap.name());
  std::map<std::string, const Link*> desired_links;
  for (const Link& link : desired.links()) desired_links[EndpointKey(link.endpoint())] = &link;

  std::vector<PlannedStep> plan;
  std::vector<PlannedStep> restarts;  // appended at the end
  // 1. Disconnect what goes away or moves. Links of endpoints the desired topology does not
  //    mention are left alone unless pruned (their VM or tap is deleted then, links first).
  for (const auto& [key, link] : state.links()) {
    if (!EndpointDesired(link.endpoint(), desired_vms, desired_taps)) continue;
    auto it = desired_links.find(key);
    if (it != desired_links.end() && it->second->lan() == link.lan()) continue;
    Mutation m;
    *m.mutable_disconnect()->mutable_endpoint() = link.endpoint();
    plan.push_back(Step(PlanItem::DISCONNECT, "link", key, absl::StrCat("from lan ", link.lan()),
                        std::move(m)));
  }
  // 2. Updates and creations.
  for (const Lan& lan : desired.lans()) {
    const Lan* current = state.FindLan(lan.name());
    Mutation m;
    if (!current) {
      *m.mutable_create_lan()->mutable_lan() = lan;
      plan.push_back(Step(PlanItem::CREATE, "lan", lan.name(), "", std::move(m)));
      continue;
    }
    auto mode =
        lan.mode() == clownix::v1::LAN_MODE_UNSPECIFIED ? clownix::v1::LAN_MODE_SWITCH : lan.mode();
    if (mode == current->mode() && SameLabels(lan.labels(), current->labels())) continue;
    *m.mutable_update_lan() = lan;
    std::string detail = mode != current->mode()
                             ? absl::StrCat("mode ", clownix::v1::LanMode_Name(current->mode()),
                                            " -> ", clownix::v1::LanMode_Name(mode))
                             : "labels";
    plan.push_back(Step(PlanItem::UPDATE, "lan", lan.name(), detail, std::move(m)));
  }
  for (const Tap& tap : desired.taps()) {
    const Tap* current = state.FindTap(tap.name());
    Mutation m;
    if (!current) {
      *m.mutable_create_tap()->mutable_tap() = tap;
      plan.push_back(Step(PlanItem::CREATE, "tap", tap.name(), "", std::move(m)));
    } else if (!SameLabels(tap.labels(), current->labels())) {
      *m.mutable_update_tap() = tap;
      plan.push_back(Step(PlanItem::UPDATE, "tap", tap.name(), "labels", std::move(m)));
    }
  }
  for (const Vm& vm : desired.vms()) {
    const Vm* current = state.FindVm(vm.name());
    Mutation m;
    if (!current) {
      *m.mutable_create_vm()->mutable_vm() = vm;
      plan.push_back(Step(PlanItem::CREATE, "vm", vm.name(), "", std::move(m)));
      continue;
    }
    // As the rules have it: an empty image keeps the VM's, and mem_mib 0 is the image's default
    // (the VM's memory as it is when that image is gone).
    const std::string& image = vm.image().empty() ? current->image() : vm.image();
    uint32_t mem = vm.mem_mib();
    if (mem == 0) {
      absl::StatusOr<clownix::v1::Image> found = FindImage(rules, image);
      mem = found.ok() ? found->default_mem_mib() : current->mem_mib();
    }
    uint32_t nics = vm.nic_count() ? vm.nic_count() : 1;
    std::vector<std::string> details;
    if (image != current->image()) {
      details.push_back(absl::StrCat("image ", current->image(), " -> ", image));
    }
    if (mem != current->mem_mib()) {
      details.push_back(absl::StrCat("mem_mib ", current->mem_mib(), " -> ", mem));
    }
    if (nics != current->nic_count()) {
      details.push_back(absl::StrCat("nic_count ", current->nic_count(), " -> ", nics));
    }
    if (vm.has_admin() && vm.admin() != current->admin()) {
      details.push_back(absl::StrCat("admin ", current->admin() ? "true" : "false", " -> ",
                                     vm.admin() ? "true" : "false"));
    }
    if (!SameLabels(vm.labels(), current->labels())) details.push_back("labels");
    if (!SameMacs(vm.nic_macs(), current->nic_macs())) details.push_back("nic_macs");
    if (!MessageDifferencer::Equals(vm.guest(), current->guest())) {
      // The guest applies its configuration at boot (resources.proto, GuestConfig): a running VM
      // gets it at its next boot, or now when the request asks for a restart.
      const bool runs = current->state() == clownix::v1::VM_STATE_BOOTING ||
                        current->state() == clownix::v1::VM_STATE_RUNNING;
      if (runs && request.restart_changed_guests()) {
        restarts.push_back(
            Step(PlanItem::RESTART, "vm", vm.name(), "to apply its new guest config", Mutation()));
        details.push_back("guest");
      } else {
        details.push_back(runs ? "guest (at its next boot: restart it to apply now)" : "guest");
      }
    }
    if (details.empty()) continue;
    *m.mutable_update_vm() = vm;
    std::string detail;
    for (const auto& d : details) absl::StrAppend(&detail, detail.empty() ? "" : ", ", d);
    plan.push_back(Step(PlanItem::UPDATE, "vm", vm.name(), detail, std::move(m)));
  }
  // 3. Connect, then impairments.
  for (const Link& link : desired.links()) {
    std::string key = EndpointKey(link.endpoint());
    const Link* current = state.FindLink(key);
    bool connected = current && current->lan() == link.lan();
    if (!connected) {
      Mutation m;
      *m.mutable_connect()->mutable_endpoint() = link.endpoint();
      m.mutable_connect()->set_lan(link.lan());
      plan.push_back(
          Step(PlanItem::CONNECT, "link", key, absl::StrCat("to lan ", link.lan()), std::move(m)));
    }
    Impairment none;
    const Impairment& to_now = connected ? current->to_lan() : none;
    const Impairment& from_now = connected ? current->from_lan() : none;
    if (!MessageDifferencer::Equals(link.to_lan(), to_now) ||
        !MessageDifferencer::Equals(link.from_lan(), from_now)) {
      Mutation m;
      auto* set = m.mutable_set_impairment();
      *set->mutable_endpoint() = link.endpoint();
      *set->mutable_to_lan() = link.to_lan();
      *set->mutable_from_lan() = link.from_lan();
      plan.push_back(Step(PlanItem::UPDATE, "link", key,
                          absl::StrCat("impairment to_lan ", ImpairmentText(link.to_lan()),
                                       ", from_lan ", ImpairmentText(link.from_lan())),
                          std::move(m)));
    }
  }
  // 4. Prune: VMs and taps (their links go with them), then LANs.
  if (request.prune()) {
    for (const auto& [name, vm] : state.vms()) {
      if (desired_vms.count(name)) continue;
      Mutation m;
      m.mutable_delete_vm()->set_name(name);
      plan.push_back(Step(PlanItem::DELETE, "vm", name, "", std::move(m)));
    }
    for (const auto& [name, tap] : state.taps()) {
      if (desired_taps.count(name)) continue;
      Mutation m;
      m.mutable_delete_tap()->set_name(name);
      plan.push_back(Step(PlanItem::DELETE, "tap", name, "", std::move(m)));
    }
    for (const auto& [name, lan] : state.lans()) {
      if (desired_lans.count(name)) continue;
      Mutation m;
      m.mutable_delete_lan()->set_name(name);
      plan.push_back(Step(PlanItem::DELETE, "lan", name, "", std::move(m)));
    }
  }
  // Last: the VMs restarted to run their new guest config, once everything else is in place.
  for (PlannedStep& step : restarts) plan.push_back(std::move(step));
  return plan;
}

void PredictOutcomes(const TopologyState& state, const RuleOptions& rules,
                     std::vector<PlannedStep>* plan) {
  TopologyState after = state;
  for (PlannedStep& step : *plan) {
    if (!IsStoreStep(step)) continue;  // a restart: the runtime's, the rules have no say
    absl::StatusOr<std::vector<clownix::v1::Change>> changes =
        ComputeChanges(after, step.mutation, rules);
    if (!changes.ok()) {
      step.item.set_status_code(static_cast<int>(changes.status().code()));
      step.item.set_status_message(std::string(changes.status().message()));
      continue;
    }
    if (changes->empty()) continue;
    clownix::v1::Event event;
    event.set_revision(after.revision() + 1);
    for (clownix::v1::Change& change : *changes) *event.add_changes() = std::move(change);
    after.Apply(event);
  }
}

}  // namespace clownix::server
