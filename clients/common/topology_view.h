// TopologyView: the network as a Watch stream describes it, for the clients that follow one
// (clownix-graph draws it, clownix-web serves it to its pages). A snapshot replaces everything;
// each event's changes create, update or delete one object by its key (VM, LAN and tap by name, a
// link by its endpoint). Not thread-safe: one owner feeds it and reads it.
#ifndef CLOWNIX_CLIENTS_COMMON_TOPOLOGY_VIEW_H_
#define CLOWNIX_CLIENTS_COMMON_TOPOLOGY_VIEW_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "proto/clownix/v1/resources.pb.h"
#include "proto/clownix/v1/topology.pb.h"

namespace clownix::clients {

class TopologyView {
 public:
  // Applies one stream message: its snapshot first, then its events in order. Returns whether
  // the network changed: a heartbeat only moves revision() (the network is the same at the
  // heartbeat's revision).
  bool Apply(const v1::WatchResponse& response);

  // The network at revision(), objects in name order and links by LAN then endpoint.
  v1::Network ToNetwork() const;

  // The LAN names, in order.
  std::vector<std::string> LanNames() const;

  // The last revision seen (snapshot, event or heartbeat); 0 before any. What a resumed Watch
  // passes as since_revision.
  uint64_t revision() const { return revision_; }
  // Server time of the last event applied, i.e. of the last change; InfinitePast after a
  // snapshot (a Network carries no time).
  absl::Time revision_time() const { return revision_time_; }
  bool has_snapshot() const { return has_snapshot_; }

 private:
  void ApplySnapshot(const v1::Network& network);
  void ApplyChange(const v1::Change& change);

  uint64_t revision_ = 0;
  absl::Time revision_time_ = absl::InfinitePast();
  bool has_snapshot_ = false;
  std::map<std::string, v1::Vm> vms_;
  std::map<std::string, v1::Lan> lans_;
  std::map<std::string, v1::Tap> taps_;
  std::map<std::string, v1::Link> links_;  // by endpoint
};

}  // namespace clownix::clients

#endif  // CLOWNIX_CLIENTS_COMMON_TOPOLOGY_VIEW_H_
