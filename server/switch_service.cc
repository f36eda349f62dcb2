#include "server/switch_service.h"

#include "absl/strings/str_cat.h"
#include "common/seed_rules.h"
#include "server/grpc_status.h"

namespace clownix::server {

grpc::ServerUnaryReactor* SwitchService::GetLanStats(grpc::CallbackServerContext* context,
                                                     const clownix::v1::GetLanStatsRequest* request,
                                                     clownix::v1::LanStats* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = common::ValidateName("lan", request->lan());
  if (status.ok()) {
    store_->Read([&](const TopologyState& state) {
      if (!state.FindLan(request->lan())) {
        status = absl::NotFoundError(absl::StrCat("lan \"", request->lan(), "\" does not exist"));
      }
    });
  }
  if (status.ok() && !backend_) {
    status = absl::UnavailableError("no switch is attached to this clownixd");
  }
  if (status.ok()) {
    // Counters are read from shared memory: no round trip, fine on a callback thread.
    absl::StatusOr<clownix::v1::LanStats> stats = backend_->GetLanStats(request->lan());
    if (stats.ok()) {
      *response = *std::move(stats);
    } else {
      status = stats.status();
    }
  }
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerWriteReactor<clownix::v1::CaptureResponse>* SwitchService::Capture(
    grpc::CallbackServerContext* context, const clownix::v1::CaptureRequest* request) {
  SwitchBackend* backend = backend_;
  return new CaptureReactor(
      *request,
      [backend](const clownix::v1::CaptureRequest& request)
          -> absl::StatusOr<std::unique_ptr<SwitchBackend::Capture>> {
        if (!backend) return absl::UnavailableError("no switch is attached to this clownixd");
        return backend->StartCapture(request);
      },
      capture_options_);
}

}  // namespace clownix::server
