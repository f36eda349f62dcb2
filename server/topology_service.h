// TopologyService: clownix.v1.Topology over the callback API. Mutations go to the store's single
// writer and finish from its completion (no handler thread ever waits for the disk); reads are
// served at once from the committed state.
#ifndef CLOWNIX_SERVER_TOPOLOGY_SERVICE_H_
#define CLOWNIX_SERVER_TOPOLOGY_SERVICE_H_

#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/clownix/v1/topology.grpc.pb.h"
#include "server/runtime.h"
#include "server/topology_store.h"
#include "server/watch_reactor.h"

namespace clownix::server {

class TopologyService final : public clownix::v1::Topology::CallbackService {
 public:
  // `store` must outlive the service.
  // `runtime` (may be null, and must outlive the service): Connect, Disconnect and Apply reply
  // once it has acted on what they committed (MachineRuntime::WaitApplied), at most
  // kMaxApplyWait later.
  TopologyService(TopologyStore* store, WatchReactor::Limits watch_limits,
                  MachineRuntime* runtime = nullptr)
      : store_(store), watch_limits_(watch_limits), runtime_(runtime) {}

  // Blocks until no call waits for the runtime any more (before the runtime goes).
  void WaitForCalls();

  static constexpr absl::Duration kMaxApplyWait = absl::Seconds(30);
  // How long a VM restarted by Apply (ApplyRequest.restart_changed_guests) has to power off.
  static constexpr absl::Duration kRestartGrace = absl::Seconds(10);

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

  // Mutate for a link: the reply waits until the runtime has acted on it (FinishWhenApplied).
  grpc::ServerUnaryReactor* MutateAndWaitApplied(grpc::CallbackServerContext* context,
                                                 Mutation mutation,
                                                 clownix::v1::MutationResponse* response);
  // Finishes `reactor` with OK once the runtime has acted on `revision` (or at once without a
  // runtime), on a thread of its own: the callback that calls it must not wait. `then` runs
  // just before (Apply's restarts).
  void FinishWhenApplied(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                         uint64_t revision, std::function<void()> then = {});

  TopologyStore* const store_;
  const WatchReactor::Limits watch_limits_;
  MachineRuntime* const runtime_;
  absl::Mutex calls_mu_;
  int calls_in_flight_ ABSL_GUARDED_BY(calls_mu_) = 0;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_TOPOLOGY_SERVICE_H_
