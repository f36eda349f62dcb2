// SwitchService: clownix.v1.Switch, served from the attached SwitchBackend (switchcore's counters
// in shared memory, its packet captures). Without a backend: UNAVAILABLE for existing LANs, and
// for every capture.
#ifndef CLOWNIX_SERVER_SWITCH_SERVICE_H_
#define CLOWNIX_SERVER_SWITCH_SERVICE_H_

#include "proto/clownix/v1/switch.grpc.pb.h"
#include "server/capture_reactor.h"
#include "server/runtime.h"
#include "server/topology_store.h"

namespace clownix::server {

class SwitchService final : public clownix::v1::Switch::CallbackService {
 public:
  // `store` must outlive the service; `backend` may be null or must outlive it.
  SwitchService(TopologyStore* store, SwitchBackend* backend,
                CaptureReactor::Options capture_options = {})
      : store_(store), backend_(backend), capture_options_(capture_options) {}

  grpc::ServerUnaryReactor* GetLanStats(grpc::CallbackServerContext* context,
                                        const clownix::v1::GetLanStatsRequest* request,
                                        clownix::v1::LanStats* response) override;
  // A stream per capture, run by a CaptureReactor.
  grpc::ServerWriteReactor<clownix::v1::CaptureResponse>* Capture(
      grpc::CallbackServerContext* context, const clownix::v1::CaptureRequest* request) override;

 private:
  TopologyStore* const store_;
  SwitchBackend* const backend_;
  const CaptureReactor::Options capture_options_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_SWITCH_SERVICE_H_
