// TopologyState: the topology as plain data, at one revision.
//
// It knows nothing of rules: Apply() takes an Event (the changes of one acknowledged mutation,
// computed by mutation_rules) and upserts or erases the objects it names. The same Apply serves
// the writer's working copy, the readers' committed copy and journal replay, so the three cannot
// disagree. Indexes (links per LAN, free VM numbers) keep every rule check O(log n). A VM
// recorded without `admin` (a journal or snapshot older than that field) is read as having it,
// and one recorded without `image` as running kBuiltinImage, the only image there was.
#ifndef CLOWNIX_SERVER_TOPOLOGY_STATE_H_
#define CLOWNIX_SERVER_TOPOLOGY_STATE_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "proto/clownix/v1/resources.pb.h"
#include "proto/clownix/v1/topology.pb.h"

namespace clownix::server {

class LabelSelector;

// The built-in image (Bazel builds it with clownixd): the default of --default_image, and the
// image of every VM recorded before Vm.image existed.
inline constexpr char kBuiltinImage[] = "tiny";

// "vm1/eth1" for a VM NIC, "tap:t0" for a tap: the key of a link, and how plans name it.
std::string EndpointKey(const clownix::v1::Endpoint& endpoint);

class TopologyState {
 public:
  uint64_t revision() const { return revision_; }

  const clownix::v1::Vm* FindVm(const std::string& name) const;
  const clownix::v1::Lan* FindLan(const std::string& name) const;
  const clownix::v1::Tap* FindTap(const std::string& name) const;
  const clownix::v1::Link* FindLink(const std::string& endpoint_key) const;

  const std::map<std::string, clownix::v1::Vm>& vms() const { return vms_; }
  const std::map<std::string, clownix::v1::Lan>& lans() const { return lans_; }
  const std::map<std::string, clownix::v1::Tap>& taps() const { return taps_; }
  const std::map<std::string, clownix::v1::Link>& links() const { return links_; }
  // Endpoint keys of the links on `lan` (empty set if none).
  const std::set<std::string>& LinksOnLan(const std::string& lan) const;

  // The smallest VM number no existing VM uses (1, 2, ...).
  uint32_t NextVmNumber() const;

  // Applies one event's changes and takes its revision. Aborts if the revision does not follow:
  // the store only applies events it computed against this very state.
  void Apply(const clownix::v1::Event& event);

  // The whole topology; with a selector, only matching VMs, LANs and taps, and the links whose
  // endpoint or LAN matches.
  clownix::v1::Network ToNetwork(const LabelSelector* selector = nullptr) const;

  // Rebuilds a state from a snapshot (state.json). INVALID_ARGUMENT when it is inconsistent.
  static absl::StatusOr<TopologyState> FromNetwork(const clownix::v1::Network& network);

  // True when a link matches `selector`: its VM or tap, or its LAN, matches.
  bool LinkMatches(const clownix::v1::Link& link, const LabelSelector& selector) const;

 private:
  void UpsertVm(const clownix::v1::Vm& vm);
  void EraseVm(const std::string& name);
  void UpsertLink(const clownix::v1::Link& link);
  void EraseLink(const std::string& key);

  uint64_t revision_ = 0;
  std::map<std::string, clownix::v1::Vm> vms_;
  std::map<std::string, clownix::v1::Lan> lans_;
  std::map<std::string, clownix::v1::Tap> taps_;
  std::map<std::string, clownix::v1::Link> links_;
  std::map<std::string, std::set<std::string>> links_by_lan_;
  // VM numbers: every number below max_vm_number_ that no VM uses is in free_vm_numbers_.
  uint32_t max_vm_number_ = 0;
  std::set<uint32_t> free_vm_numbers_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_TOPOLOGY_STATE_H_
