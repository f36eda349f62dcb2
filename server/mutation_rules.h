// The rules of the topology: what each mutation changes, and when it is refused.
//
// ComputeChanges is a function of the current state, the request and the images there are (the
// one thing it looks up outside the state, through RuleOptions::find_image), so the store's writer
// can run it against its working copy, append the result to the journal, and only then apply it.
// The journal records the result, so replaying it never looks an image up again.
#ifndef CLOWNIX_SERVER_MUTATION_RULES_H_
#define CLOWNIX_SERVER_MUTATION_RULES_H_

#include <cstdint>
#include <functional>
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
  // The image a VM created without `image` gets (clownixd --default_image).
  std::string default_image = kBuiltinImage;
  // The image called `name` (ImageCatalog::Find): its default_mem_mib and min_mem_mib count.
  // NOT_FOUND naming the images there are; INVALID_ARGUMENT for a name that cannot be one. Unset:
  // every image name is taken, with the seed's memory default (tests of the other rules). Called
  // on the store's writer thread: it must be quick and must not call the store.
  std::function<absl::StatusOr<clownix::v1::Image>(const std::string& name)> find_image;
};

// The image `name` by options.find_image, or (unset) one with the seed's memory rules.
absl::StatusOr<clownix::v1::Image> FindImage(const RuleOptions& options, const std::string& name);

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
