#include "clients/graph/render_once.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "clients/graph/dot_builder.h"
#include "grpcpp/grpcpp.h"

namespace clownix::graph {

absl::StatusOr<uint64_t> RenderOnce(v1::Topology::StubInterface* stub, const DotRenderer& renderer,
                                    const RenderOnceOptions& options) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  v1::GetTopologyRequest request;
  request.set_label_selector(options.label_selector);
  v1::Network network;
  grpc::Status status = stub->GetTopology(&context, request, &network);
  if (!status.ok()) {
    std::string hint;
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      hint = "; is clownixd running there? Point at it with --server or $CLOWNIX_SERVER";
    }
    return absl::Status(
        static_cast<absl::StatusCode>(status.error_code()),
        absl::StrCat("GetTopology from ", options.server, ": ", status.error_message(), hint));
  }
  DotBuilder::Options picture;
  picture.title = options.title;
  picture.zone = options.zone;
  picture.time = absl::Now();
  if (absl::Status rendered = renderer.Render(DotBuilder(picture).Build(network)); !rendered.ok()) {
    return rendered;
  }
  return network.revision();
}

}  // namespace clownix::graph
