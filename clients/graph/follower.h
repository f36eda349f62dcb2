// Follower: keeps the picture in step with the topology (`clownix-graph --follow`).
//
// A reader thread holds a Watch open and feeds a TopologyView. When the stream breaks (clownixd
// restarted, killed, unreachable) it reconnects and resumes with since_revision = the last
// revision it applied, so no change is missed or applied twice; the server answers with a
// snapshot instead when it no longer holds that history. The render loop (the thread calling
// Run) redraws whenever the view changed or the connection came or went, at most once per
// `debounce`: a burst of changes costs one render. While the server is away the picture keeps the
// last network with a red notice in its header.
#ifndef CLOWNIX_CLIENTS_GRAPH_FOLLOWER_H_
#define CLOWNIX_CLIENTS_GRAPH_FOLLOWER_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/common/topology_view.h"
#include "clients/graph/dot_renderer.h"
#include "grpcpp/grpcpp.h"
#include "proto/clownix/v1/topology.grpc.pb.h"

namespace clownix::graph {

class Follower {
 public:
  struct Options {
    // The server address as the user gave it, for notices and log lines.
    std::string server;
    // Passed to Watch: only matching objects are drawn.
    std::string label_selector;
    // Minimum time between two renders.
    absl::Duration debounce = absl::Milliseconds(200);
    // Picture title and the zone times are shown in.
    std::string title = "clownix";
    absl::TimeZone zone = absl::UTCTimeZone();
    // One line per render and per connection change; null for none.
    std::ostream* log = nullptr;
  };

  // Watches through `channel`; draws with `renderer`, which must outlive the Follower.
  Follower(std::shared_ptr<grpc::Channel> channel, const DotRenderer* renderer, Options options);

  // Follows until Stop(). OK after Stop(); otherwise the server's answer that retrying cannot
  // fix (INVALID_ARGUMENT for a bad selector, UNIMPLEMENTED, PERMISSION_DENIED,
  // UNAUTHENTICATED). Render failures are logged and retried at the next change. Call once.
  absl::Status Run();

  // Ends Run() soon (cancels the stream). Thread-safe.
  void Stop();

  // The revision of the last successful render, 0 before one. Thread-safe.
  uint64_t rendered_revision() const;

 private:
  void ReadLoop();
  // Sets the connection state (under mu_), logging and redrawing when it changed.
  void SetConnected(bool connected, const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Log(const std::string& line) const;

  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::Topology::Stub> stub_;
  const DotRenderer* const renderer_;
  const Options options_;

  mutable absl::Mutex mu_;
  clients::TopologyView view_ ABSL_GUARDED_BY(mu_);
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  bool ever_connected_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time lost_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;  // the open Watch, if any
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
  uint64_t rendered_revision_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace clownix::graph

#endif  // CLOWNIX_CLIENTS_GRAPH_FOLLOWER_H_
