// RenderOnce: one picture of the topology as it is now (`clownix-graph` without --follow).
#ifndef CLOWNIX_CLIENTS_GRAPH_RENDER_ONCE_H_
#define CLOWNIX_CLIENTS_GRAPH_RENDER_ONCE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/graph/dot_renderer.h"
#include "proto/clownix/v1/topology.grpc.pb.h"

namespace clownix::graph {

struct RenderOnceOptions {
  // The server address as the user gave it, for error messages.
  std::string server;
  std::string label_selector;
  // Bound on the GetTopology call.
  absl::Duration timeout = absl::Seconds(10);
  std::string title = "clownix";
  absl::TimeZone zone = absl::UTCTimeZone();
};

// Fetches the topology through `stub` and renders it with `renderer`; returns the revision drawn.
// The server's status when the call fails (UNAVAILABLE says the server did not answer and how to
// point at it); the renderer's when rendering fails.
absl::StatusOr<uint64_t> RenderOnce(v1::Topology::StubInterface* stub, const DotRenderer& renderer,
                                    const RenderOnceOptions& options);

}  // namespace clownix::graph

#endif  // CLOWNIX_CLIENTS_GRAPH_RENDER_ONCE_H_
