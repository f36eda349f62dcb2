// libFuzzer target: Topology.Apply and every other mutation, as clownixd's topology store runs
// them (the planner, then each step through the mutation rules into the state), fed a sequence
// of requests parsed from binary protobuf (apply_fuzz_input.proto).
// Invariants:
//   - nothing crashes or aborts (the state's own checks included);
//   - refusals use the codes the rules document; a plan is refused only with INVALID_ARGUMENT;
//   - after every committed change the state is consistent: names, numbers, NICs, MACs (chosen or
//     the seed's, unique), labels valid; an admin eth0 unlinked; every link's endpoint, LAN and
//     owner agree; and it survives a snapshot round trip (state.json) unchanged;
//   - an Apply whose steps all succeed converges: planning the same request again plans nothing.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/seed_rules.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/apply_planner.h"
#include "server/fuzz/apply_fuzz_input.pb.h"
#include "server/mutation_rules.h"
#include "server/names.h"
#include "server/topology_state.h"

namespace {

namespace common = clownix::common;
namespace v1 = clownix::v1;
using clownix::server::ComputeChanges;
using clownix::server::EndpointKey;
using clownix::server::Mutation;
using clownix::server::PlanApply;
using clownix::server::PlannedStep;
using clownix::server::RuleOptions;
using clownix::server::TopologyState;
using google::protobuf::util::MessageDifferencer;

constexpr int kMaxSteps = 64;

void Fail(const std::string& what, const google::protobuf::Message& context) {
  std::cerr << "apply_fuzzer: " << what << "\n" << context.DebugString() << "\n";
  abort();
}

void Check(bool ok, const std::string& what, const TopologyState& state) {
  if (!ok) Fail(what, state.ToNetwork());
}

void CheckConsistent(const TopologyState& state, const RuleOptions& options) {
  std::set<uint32_t> numbers;
  std::set<std::string> macs;
  for (const auto& [name, vm] : state.vms()) {
    const std::string owner = absl::StrCat("vm ", name);
    Check(name == vm.name() && common::ValidateName("vm", name).ok(), owner + ": bad name", state);
    Check(common::ValidateVmNumber(vm.number()).ok() && numbers.insert(vm.number()).second,
          owner + ": bad or reused number", state);
    Check(common::ValidateMemMib(owner, vm.mem_mib()).ok(), owner + ": bad mem_mib", state);
    Check(vm.nic_count() >= 1 && vm.nic_count() <= common::kMaxNics &&
              vm.nics_size() == static_cast<int>(vm.nic_count()),
          owner + ": bad NICs", state);
    Check(clownix::server::ValidateLabels(owner, vm.labels()).ok(), owner + ": bad labels", state);
    Check(vm.admin_ip().empty() == (!vm.admin() || !options.admin_prefix.has_value()),
          owner + ": admin IP and admin network disagree", state);
    for (int i = 0; i < vm.nics_size(); ++i) {
      const v1::Nic& nic = vm.nics(i);
      // The MAC is the one the VM chose (Vm.nic_macs) or the seed's; no two NICs share one.
      auto chosen = vm.nic_macs().find(i);
      const std::string mac = chosen != vm.nic_macs().end()
                                  ? chosen->second
                                  : common::VmMac(vm.number(), i).value_or("");
      Check(nic.index() == static_cast<uint32_t>(i) && nic.mac() == mac &&
                macs.insert(nic.mac()).second,
            absl::StrCat(owner, ": eth", i, " has a bad index or MAC, or another NIC's MAC"),
            state);
      // eth0 is the admin NIC; only a VM without the admin network may link it.
      if (i == 0 && vm.admin())
        Check(nic.lan().empty(), owner + ": its admin eth0 is linked", state);
      v1::Endpoint endpoint;
      endpoint.mutable_nic()->set_vm(name);
      endpoint.mutable_nic()->set_index(i);
      const v1::Link* link = state.FindLink(EndpointKey(endpoint));
      Check(link ? link->lan() == nic.lan() : nic.lan().empty(),
            absl::StrCat(owner, ": eth", i, " and its link disagree"), state);
    }
  }
  for (const auto& [name, lan] : state.lans()) {
    Check(name == lan.name() && common::ValidateName("lan", name).ok() &&
              v1::LanMode_IsValid(lan.mode()) && lan.mode() != v1::LAN_MODE_UNSPECIFIED &&
              clownix::server::ValidateLabels("lan", lan.labels()).ok(),
          "lan " + name + " is invalid", state);
  }
  for (const auto& [name, tap] : state.taps()) {
    Check(name == tap.name() && common::ValidateTapName(name).ok() &&
              clownix::server::ValidateLabels("tap", tap.labels()).ok(),
          "tap " + name + " is invalid", state);
    const v1::Link* link = state.FindLink("tap:" + name);
    Check(link ? link->lan() == tap.lan() : tap.lan().empty(), "tap " + name + " and its link",
          state);
  }
  for (const auto& [key, link] : state.links()) {
    Check(key == EndpointKey(link.endpoint()) && state.FindLan(link.lan()) &&
              state.LinksOnLan(link.lan()).count(key),
          "link " + key + " is not on its lan", state);
    const v1::Endpoint& e = link.endpoint();
    if (e.has_nic()) {
      const v1::Vm* vm = state.FindVm(e.nic().vm());
      Check(vm && (e.nic().index() > 0 || !vm->admin()) && e.nic().index() < vm->nic_count(),
            "link " + key + " has no NIC", state);
    } else {
      Check(e.has_tap() && state.FindTap(e.tap()), "link " + key + " has no tap", state);
    }
    Check(clownix::server::ValidateImpairment(key, link.to_lan()).ok() &&
              clownix::server::ValidateImpairment(key, link.from_lan()).ok(),
          "link " + key + " has a bad impairment", state);
  }
  const v1::Network snapshot = state.ToNetwork();
  absl::StatusOr<TopologyState> restored = TopologyState::FromNetwork(snapshot);
  if (!restored.ok()) Fail("the snapshot is refused: " + restored.status().ToString(), snapshot);
  if (!MessageDifferencer::Equals(restored->ToNetwork(), snapshot)) {
    Fail("the snapshot does not restore the same state", snapshot);
  }
}

// Runs `mutation` as the store's writer does; returns its outcome.
absl::Status Commit(TopologyState& state, const Mutation& mutation, const RuleOptions& options) {
  absl::StatusOr<std::vector<v1::Change>> changes = ComputeChanges(state, mutation, options);
  if (!changes.ok()) {
    switch (changes.status().code()) {
      case absl::StatusCode::kInvalidArgument:
      case absl::StatusCode::kNotFound:
      case absl::StatusCode::kAlreadyExists:
      case absl::StatusCode::kFailedPrecondition:
      case absl::StatusCode::kResourceExhausted:
        return changes.status();
      default:
        Fail("a mutation is refused with an undocumented code: " + changes.status().ToString(),
             mutation);
    }
  }
  if (changes->empty()) return absl::OkStatus();
  v1::Event event;
  event.set_revision(state.revision() + 1);
  for (v1::Change& change : *changes) *event.add_changes() = std::move(change);
  state.Apply(event);
  CheckConsistent(state, options);
  return absl::OkStatus();
}

void RunApply(TopologyState& state, const v1::ApplyRequest& request, const RuleOptions& options) {
  absl::StatusOr<std::vector<PlannedStep>> plan = PlanApply(state, request, options);
  if (!plan.ok()) {
    if (plan.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("a plan is refused with another code than INVALID_ARGUMENT: " + plan.status().ToString(),
           request);
    }
    return;
  }
  if (request.dry_run()) return;
  bool all_ok = true;
  for (const PlannedStep& step : *plan) {
    all_ok = Commit(state, step.mutation, options).ok() && all_ok;
  }
  if (!all_ok) return;
  absl::StatusOr<std::vector<PlannedStep>> again = PlanApply(state, request, options);
  if (!again.ok()) Fail("an applied request is refused: " + again.status().ToString(), request);
  if (!again->empty()) {
    Fail(absl::StrCat("an applied request does not converge; next step: ",
                      again->front().item.ShortDebugString(), "\nstate:\n",
                      state.ToNetwork().DebugString()),
         request);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // Invalid UTF-8 in strings is refused, loudly.
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  clownix::server::fuzz::ApplyFuzzInput input;
  if (!input.ParseFromArray(data, static_cast<int>(size))) return 0;
  RuleOptions options;
  if (input.admin_prefix()) options.admin_prefix = std::make_pair(uint8_t{10}, uint8_t{0});
  options.admin_default = !input.no_admin_default();
  TopologyState state;
  int steps = 0;
  for (const auto& step : input.steps()) {
    if (++steps > kMaxSteps) break;
    if (step.has_apply()) {
      RunApply(state, step.apply(), options);
    } else {
      Commit(state, step.mutation(), options).IgnoreError();  // Refusals are checked inside.
    }
  }
  return 0;
}
