// WatchHub: clownix-web's one Watch on clownixd, fanned out to every open page.
//
// A thread holds the Watch (sync API: it blocks in Read), applies each message to a TopologyView
// and hands every subscriber the same JSON text. A page that subscribes first gets the current
// state (status and, once known, a snapshot built from the model), then every later message, in
// order, under the same lock: no gap, no duplicate. When the stream breaks (clownixd stopped or
// restarted) every page is told "reconnecting"; the thread calls Watch again with since_revision
// = the model's revision, so pages resume from there with the deltas they missed (or a snapshot
// when clownixd's history no longer has them). A second thread polls the per-port counters of
// every LAN once a second while a page is open, and fans them out the same way. Fifty pages cost
// clownixd one Watch and one GetLanStats per LAN and second, as one page does.
//
// Messages (JSON objects, "type" first):
//   {"type":"status","connected":B,"revision":"N","message":"..."}
//   {"type":"watch","response":WatchResponse}      (proto JSON, proto field names)
//   {"type":"stats","lans":[LanStats, ...]}
#ifndef CLOWNIX_CLIENTS_WEB_WATCH_HUB_H_
#define CLOWNIX_CLIENTS_WEB_WATCH_HUB_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/common/topology_view.h"
#include "grpcpp/grpcpp.h"
#include "proto/clownix/v1/switch.grpc.pb.h"
#include "proto/clownix/v1/topology.grpc.pb.h"

namespace clownix::web {

class WatchHub {
 public:
  // Called with each message, in order, from the hub's threads (or from Subscribe's caller) with
  // the hub's lock held: it must only hand the message over (post it), never block or call back
  // into the hub.
  using Deliver = std::function<void(std::shared_ptr<const std::string>)>;

  struct Options {
    // How often the LAN counters are read while a page is open.
    absl::Duration stats_interval = absl::Seconds(1);
    // Wait between two Watch attempts, doubled up to max_retry after each failure.
    absl::Duration min_retry = absl::Milliseconds(100);
    absl::Duration max_retry = absl::Seconds(1);
  };

  // `channel` carries clownix-web's own credentials (its --token, if any); the hub only reads.
  WatchHub(std::shared_ptr<grpc::Channel> channel, Options options);
  // Stops the threads (Stop()).
  ~WatchHub();

  // Starts the watch and counters threads. Once.
  void Start();
  // Cancels the watch and joins the threads. Idempotent.
  void Stop();

  // Subscribes a page: `deliver` gets the current state now, then every message. Returns an id
  // for Unsubscribe.
  uint64_t Subscribe(Deliver deliver);
  void Unsubscribe(uint64_t id);

  // A token a page proved may read (a viewer call with it succeeded). Used by the watch and the
  // counters when clownix-web's own credentials are refused (clownixd wants a token and
  // clownix-web was given none); reading is all the hub does with it.
  void OfferToken(const std::string& token);

 private:
  void WatchLoop();
  void StatsLoop();
  void BroadcastLocked(std::shared_ptr<const std::string> message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<const std::string> StatusMessageLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddTokenLocked(grpc::ClientContext* context) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  std::unique_ptr<v1::Topology::Stub> topology_;
  std::unique_ptr<v1::Switch::Stub> switch_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool token_offered_ ABSL_GUARDED_BY(mu_) = false;  // wakes a watch waiting for a token
  bool refused_ ABSL_GUARDED_BY(mu_) = false;        // own credentials were refused
  std::string token_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* watch_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  clients::TopologyView model_ ABSL_GUARDED_BY(mu_);
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  std::string status_message_ ABSL_GUARDED_BY(mu_) = "connecting to clownixd";
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Deliver> subscribers_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const std::string> last_stats_ ABSL_GUARDED_BY(mu_);

  std::thread watch_thread_;
  std::thread stats_thread_;
};

}  // namespace clownix::web

#endif  // CLOWNIX_CLIENTS_WEB_WATCH_HUB_H_
