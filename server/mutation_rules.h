// The rules of the topology: what each mutation changes, and when it is refused.
//
// ComputeChanges is a pure function of the current state and the request, so the store's writer
// can run it against its working copy, append the result to the journal, and only then apply it.
#ifndef CLOWNIX_SERVER_MUTATION_RULES_H_
#define CLOWNIX_SERVER_MUTATION_RULES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/clownix/v1/topology.pb.h"
#include "server/mutation.pb.h"
#include "server/topology_state.h"

namespace clownix::server {

struct RuleOptions {
  // First two bytes X.Y of the host's admin address: VM n gets X.Y.n/100.n%100. Unset: no admin IP.
  std::optional<std::pair<uint8_t, uint8_t>> admin_prefix;
  // Whether a VM created without `admin` gets the admin network (clownixd --admin_default).
  bool admin_default = true;
};

// The changes `mutation` makes to `state`, in the order a client should apply them (links before
// the objects they reference on delete). An empty vector means the mutation changes nothing.
// Errors: INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED,
// each naming the object.
absl::StatusOr<std::vector<clownix::v1::Change>> ComputeChanges(const TopologyState& state,
                                                                const Mutation& mutation,
                                                                const RuleOptions& options);

// Checks an impairment's ranges; `what` names it in the message.
absl::Status ValidateImpairment(const std::string& what, const clownix::v1::Impairment& impairment);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_MUTATION_RULES_H_
