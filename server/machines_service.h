// MachinesService: clownix.v1.Machines. Checks the VM against the topology, then hands the call
// to the attached MachineRuntime on a thread of its own (runtime calls block on processes and
// must not hold a gRPC callback thread). Without a runtime, calls on VMs fail with
// FAILED_PRECONDITION. ListImages answers from the image catalog, runtime or not.
#ifndef CLOWNIX_SERVER_MACHINES_SERVICE_H_
#define CLOWNIX_SERVER_MACHINES_SERVICE_H_

#include "absl/synchronization/mutex.h"
#include "proto/clownix/v1/machines.grpc.pb.h"
#include "server/image_catalog.h"
#include "server/runtime.h"
#include "server/topology_store.h"

namespace clownix::server {

class MachinesService final : public clownix::v1::Machines::CallbackService {
 public:
  // `store` and `images` must outlive the service; `runtime` may be null (none attached) or must
  // outlive it.
  MachinesService(TopologyStore* store, MachineRuntime* runtime, ImageCatalog* images)
      : store_(store), runtime_(runtime), images_(images) {}

  grpc::ServerUnaryReactor* Exec(grpc::CallbackServerContext* context,
                                 const clownix::v1::ExecRequest* request,
                                 clownix::v1::ExecResponse* response) override;
  grpc::ServerBidiReactor<clownix::v1::ConsoleRequest, clownix::v1::ConsoleResponse>* Console(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Start(grpc::CallbackServerContext* context,
                                  const clownix::v1::StartRequest* request,
                                  clownix::v1::VmResponse* response) override;
  grpc::ServerUnaryReactor* Halt(grpc::CallbackServerContext* context,
                                 const clownix::v1::HaltRequest* request,
                                 clownix::v1::VmResponse* response) override;
  grpc::ServerUnaryReactor* Reboot(grpc::CallbackServerContext* context,
                                   const clownix::v1::RebootRequest* request,
                                   clownix::v1::VmResponse* response) override;
  grpc::ServerUnaryReactor* ListImages(grpc::CallbackServerContext* context,
                                       const clownix::v1::ListImagesRequest* request,
                                       clownix::v1::ListImagesResponse* response) override;
  // The runtime's figures (reads a few cgroup files per VM: fine on this thread); without a
  // runtime, an empty ServerInfo.
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context,
                                          const clownix::v1::GetServerInfoRequest* request,
                                          clownix::v1::ServerInfo* response) override;

  // Blocks until no runtime call started by this service is running (at shutdown, after the
  // runtime stopped its VMs, before it is destroyed).
  void WaitForCalls();

 private:
  // OK when `vm` exists and a runtime is attached; NOT_FOUND / FAILED_PRECONDITION otherwise.
  absl::Status CheckRunnable(const std::string& vm) const;
  // Runs `call` off the gRPC threads, then finishes `reactor` with its status.
  grpc::ServerUnaryReactor* RunAsync(grpc::CallbackServerContext* context, const std::string& vm,
                                     std::function<absl::Status()> call);
  absl::Status FillVm(const std::string& name, clownix::v1::VmResponse* response) const;

  TopologyStore* const store_;
  MachineRuntime* const runtime_;
  ImageCatalog* const images_;
  absl::Mutex calls_mu_;
  int calls_in_flight_ ABSL_GUARDED_BY(calls_mu_) = 0;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_MACHINES_SERVICE_H_
