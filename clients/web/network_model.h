// NetworkModel: the network as clownix-web's one Watch stream describes it, so that a page that
// opens gets a snapshot of the current state without a call to clownixd. A snapshot replaces
// everything; each change creates, updates or deletes one object by its key (VM, LAN and tap by
// name, a link by its endpoint). Not thread-safe: WatchHub owns it under its mutex.
#ifndef CLOWNIX_CLIENTS_WEB_NETWORK_MODEL_H_
#define CLOWNIX_CLIENTS_WEB_NETWORK_MODEL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "proto/clownix/v1/resources.pb.h"
#include "proto/clownix/v1/topology.pb.h"

namespace clownix::web {

class NetworkModel {
 public:
  // Applies one stream message: its snapshot first, then its events in order; a heartbeat moves
  // the revision only.
  void Apply(const v1::WatchResponse& response);

  // The network at revision(), objects in name order.
  v1::Network ToNetwork() const;

  // The LAN names, in order (what the counters poller asks about).
  std::vector<std::string> LanNames() const;

  // The last revision seen: what a resumed Watch passes as since_revision. 0 before any.
  uint64_t revision() const { return revision_; }
  bool has_snapshot() const { return has_snapshot_; }

 private:
  void ApplyChange(const v1::Change& change);

  uint64_t revision_ = 0;
  bool has_snapshot_ = false;
  std::map<std::string, v1::Vm> vms_;
  std::map<std::string, v1::Lan> lans_;
  std::map<std::string, v1::Tap> taps_;
  std::map<std::string, v1::Link> links_;  // by EndpointKey
};

// "nic:VM/INDEX" or "tap:NAME": the identity of a link (an endpoint has at most one).
std::string EndpointKey(const v1::Endpoint& endpoint);

}  // namespace clownix::web

#endif  // CLOWNIX_CLIENTS_WEB_NETWORK_MODEL_H_
