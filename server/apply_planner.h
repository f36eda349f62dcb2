// ApplyPlanner: the plan that brings the topology to a desired one (Topology.Apply).
//
// The plan is computed against the committed state in an order that cannot trip over itself:
// disconnect links that go away or move; create or update LANs, then taps, then VMs (after the
// disconnects, so a VM can lose a NIC); connect new links and set changed impairments; and with
// prune delete VMs, then taps, then LANs; last, with restart_changed_guests, restart the running
// VMs whose guest config changed. Each item carries the store mutation that does it.
#ifndef CLOWNIX_SERVER_APPLY_PLANNER_H_
#define CLOWNIX_SERVER_APPLY_PLANNER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "proto/clownix/v1/topology.pb.h"
#include "server/mutation.pb.h"
#include "server/mutation_rules.h"
#include "server/topology_state.h"

namespace clownix::server {

// An item and the store mutation that does it; a RESTART item has none (IsStoreStep false): the
// runtime halts and starts its VM once the steps before it are committed and acted on.
struct PlannedStep {
  clownix::v1::PlanItem item;
  Mutation mutation;
};
inline bool IsStoreStep(const PlannedStep& step) {
  return step.mutation.op_case() != Mutation::OP_NOT_SET;
}

// INVALID_ARGUMENT when `request.desired()` is malformed or inconsistent: bad or duplicate names,
// a link to an object that is not in the desired topology, an endpoint linked twice, eth0 linked.
// `rules` are the store's: a VM's mem_mib 0 is its image's default (RuleOptions::find_image), so
// the plan updates exactly what the rules would change. An image that does not exist is no error
// here: its VM's item fails when applied.
absl::StatusOr<std::vector<PlannedStep>> PlanApply(const TopologyState& state,
                                                   const clownix::v1::ApplyRequest& request,
                                                   const RuleOptions& rules);

// For a dry run: what applying `plan` would do to each item, as far as the rules tell (an image
// that does not exist, a running VM's memory changed, a name taken meanwhile): each step runs
// through ComputeChanges against a copy of `state` that takes the changes of the steps before it,
// and an item whose step would be refused gets that status code and message. Nothing is
// committed; the copy costs a copy of the topology, paid by dry runs only.
void PredictOutcomes(const TopologyState& state, const RuleOptions& rules,
                     std::vector<PlannedStep>* plan);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_APPLY_PLANNER_H_
