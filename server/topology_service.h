// TopologyService: clownix.v1.Topology over the callback API. Mutations go to the store's single
// writer and finish from its completion (no handler thread ever waits for the disk); reads are
// served at once from the committed state.
#ifndef CLOWNIX_SERVER_TOPOLOGY_SERVICE_H_
#define CLOWNIX_SERVER_TOPOLOGY_SERVICE_H_

#include "proto/clownix/v1/topology.grpc.pb.h"
#include "server/topology_store.h"
#include "server/watch_reactor.h"

namespace clownix::server {

class TopologyService final : public clownix::v1::Topology::CallbackService {
 public:
  // `store` must outlive the service.
  TopologyService(TopologyStore* store, WatchReactor::Limits watch_limits)
      : store_(store), watch_limits_(watch_limits) {}

  grpc::ServerUnaryReactor* CreateVm(grpc::CallbackServerContext* context,
                                     const clownix::v1::CreateVmRequest* request,
                                     clownix::v1::CreateVmResponse* response) override;
  grpc::ServerUnaryReactor* DeleteVm(grpc::CallbackServerContext* context,
                                     const clownix::v1::DeleteVmRequest* request,
                                     clownix::v1::MutationResponse* response) override;
  grpc::ServerUnaryReactor* GetVm(grpc::CallbackServerContext* context,
                                  const clownix::v1::GetVmRequest* request,
                                  clownix::v1::Vm* response) override;
  grpc::ServerUnaryReactor* ListVms(grpc::CallbackServerContext* context,
                                    const clownix::v1::ListRequest* request,
                                    clownix::v1::ListVmsResponse* response) override;
  grpc::ServerUnaryReactor* CreateLan(grpc::CallbackServerContext* context,
                                      const clownix::v1::CreateLanRequest* request,
                                      clownix::v1::CreateLanResponse* response) override;
  grpc::ServerUnaryReactor* DeleteLan(grpc::CallbackServerContext* context,
                                      const clownix::v1::DeleteLanRequest* request,
                                      clownix::v1::MutationResponse* response) override;
  grpc::ServerUnaryReactor* ListLans(grpc::CallbackServerContext* context,
                                     const clownix::v1::ListRequest* request,
                                     clownix::v1::ListLansResponse* response) override;
  grpc::ServerUnaryReactor* CreateTap(grpc::CallbackServerContext* context,
                                      const clownix::v1::CreateTapRequest* request,
                                      clownix::v1::CreateTapResponse* response) override;
  grpc::ServerUnaryReactor* DeleteTap(grpc::CallbackServerContext* context,
                                      const clownix::v1::DeleteTapRequest* request,
                                      clownix::v1::MutationResponse* response) override;
  grpc::ServerUnaryReactor* ListTaps(grpc::CallbackServerContext* context,
                                     const clownix::v1::ListRequest* request,
                                     clownix::v1::ListTapsResponse* response) override;
  grpc::ServerUnaryReactor* Connect(grpc::CallbackServerContext* context,
                                    const clownix::v1::ConnectRequest* request,
                                    clownix::v1::MutationResponse* response) override;
  grpc::ServerUnaryReactor* Disconnect(grpc::CallbackServerContext* context,
                                       const clownix::v1::DisconnectRequest* request,
                                       clownix::v1::MutationResponse* response) override;
  grpc::ServerUnaryReactor* SetImpairment(grpc::CallbackServerContext* context,
                                          const clownix::v1::SetImpairmentRequest* request,
                                          clownix::v1::MutationResponse* response) override;
  grpc::ServerUnaryReactor* GetTopology(grpc::CallbackServerContext* context,
                                        const clownix::v1::GetTopologyRequest* request,
                                        clownix::v1::Network* response) override;
  grpc::ServerWriteReactor<clownix::v1::WatchResponse>* Watch(
      grpc::CallbackServerContext* context, const clownix::v1::WatchRequest* request) override;
  grpc::ServerUnaryReactor* Apply(grpc::CallbackServerContext* context,
                                  const clownix::v1::ApplyRequest* request,
                                  clownix::v1::ApplyResponse* response) override;

 private:
  // Submits `mutation`; on success `fill` completes the response, then the RPC finishes.
  template <typename Response, typename Fill>
  grpc::ServerUnaryReactor* Mutate(grpc::CallbackServerContext* context, Mutation mutation,
                                   Response* response, Fill fill);

  TopologyStore* const store_;
  const WatchReactor::Limits watch_limits_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_TOPOLOGY_SERVICE_H_
