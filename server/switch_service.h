// SwitchService: clownix.v1.Switch, served from the attached SwitchBackend (switchcore's counters
// in shared memory). Without a backend: UNAVAILABLE for existing LANs.
#ifndef CLOWNIX_SERVER_SWITCH_SERVICE_H_
#define CLOWNIX_SERVER_SWITCH_SERVICE_H_

#include "proto/clownix/v1/switch.grpc.pb.h"
#include "server/runtime.h"
#include "server/topology_store.h"

namespace clownix::server {

class SwitchService final : public clownix::v1::Switch::CallbackService {
 public:
  // `store` must outlive the service; `backend` may be null or must outlive it.
  SwitchService(TopologyStore* store, SwitchBackend* backend) : store_(store), backend_(backend) {}

  grpc::ServerUnaryReactor* GetLanStats(grpc::CallbackServerContext* context,
                                        const clownix::v1::GetLanStatsRequest* request,
                                        clownix::v1::LanStats* response) override;

 private:
  TopologyStore* const store_;
  SwitchBackend* const backend_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_SWITCH_SERVICE_H_
