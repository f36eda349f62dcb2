// ClownixServer: clownixd assembled: the image catalog, the topology store, the runtime controller
// (switch and VMs, unless backends are off), the gRPC services (Topology, Machines, Switch,
// grpc.health.v1, server reflection) on the work dir's unix socket and, when asked, a TCP address;
// who may call what on each is ApiAccess's (api_access.h).
#ifndef CLOWNIX_SERVER_CLOWNIX_SERVER_H_
#define CLOWNIX_SERVER_CLOWNIX_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "server/image_catalog.h"
#include "server/machines_service.h"
#include "server/memory_budget.h"
#include "server/runtime_controller.h"
#include "server/server_options.h"
#include "server/switch_service.h"
#include "server/topology_service.h"
#include "server/topology_store.h"

namespace clownix::server {

class ClownixServer {
 public:
  // Recovers the topology from the work dir, starts the backends (unless options.backends is
  // off) and starts serving. FAILED_PRECONDITION when the work dir is in use; UNAVAILABLE when an
  // address cannot be bound; the backends' errors when they cannot start (NOT_FOUND for a missing
  // kernel, root_fs or binary, ...).
  static absl::StatusOr<std::unique_ptr<ClownixServer>> Create(const ServerOptions& options);
  ~ClownixServer();

  // Blocks until Shutdown is called (from another thread or a signal handler thread).
  void Wait();
  // Ends watches, stops the VMs and the switch (their intent stays in the topology, so the next
  // clownixd boots them again), drains the calls in flight, stops listening, closes the store and
  // removes the socket. Idempotent.
  void Shutdown();

  // The TCP port actually bound (useful with HOST:0), or 0.
  int tcp_port() const { return tcp_port_; }

 private:
  explicit ClownixServer(ServerOptions options) : options_(std::move(options)) {}

  const ServerOptions options_;
  std::unique_ptr<ImageCatalog> images_;
  // The VMs' memory budget (null without backends): before the store, which checks against it.
  std::unique_ptr<MemoryBudget> budget_;
  std::unique_ptr<TopologyStore> store_;
  std::unique_ptr<RuntimeController> runtime_;  // null without backends
  std::unique_ptr<TopologyService> topology_;
  std::unique_ptr<MachinesService> machines_;
  std::unique_ptr<SwitchService> switch_;
  std::unique_ptr<grpc::Server> server_;
  int tcp_port_ = 0;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_CLOWNIX_SERVER_H_
