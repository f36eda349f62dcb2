#include "server/clownix_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "proto/grpc/health/v1/health.pb.h"
#include "server/log.h"

namespace clownix::server {

absl::StatusOr<std::unique_ptr<ClownixServer>> ClownixServer::Start(const ServerOptions& options) {
  std::unique_ptr<ClownixServer> server(new ClownixServer(options));
  TopologyStore::Options store_options;
  store_options.work_dir = options.work_dir;
  store_options.rules.admin_prefix = options.admin_prefix();
  TopologyStore::Recovery recovery;
  absl::StatusOr<std::unique_ptr<TopologyStore>> store =
      TopologyStore::Open(store_options, &recovery);
  if (!store.ok()) return store.status();
  server->store_ = *std::move(store);
  Log(LogLevel::kInfo,
      absl::StrCat("recovered revision ", server->store_->revision(), " (snapshot at ",
                   recovery.snapshot_revision, ", ", recovery.journal_records,
                   " journal records)"));

  server->topology_ =
      std::make_unique<TopologyService>(server->store_.get(), WatchReactor::Limits());
  server->machines_ = std::make_unique<MachinesService>(server->store_.get(), nullptr);
  server->switch_ = std::make_unique<SwitchService>(server->store_.get(), nullptr);

  // Reflection describes what the binary has descriptors for: touching the health descriptor
  // keeps it linked in, so the Health service the server lists can be described too.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  // We hold the work dir's lock, so a socket file left there is stale.
  std::string socket_path = options.socket_path();
  unlink(socket_path.c_str());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("unix:", socket_path), grpc::InsecureServerCredentials());
  if (!options.listen.empty()) {
    builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(),
                             &server->tcp_port_);
  }
  builder.RegisterService(server->topology_.get());
  builder.RegisterService(server->machines_.get());
  builder.RegisterService(server->switch_.get());
  // The socket is created by BuildAndStart: create it owner-only from the start.
  mode_t old_umask = umask(0077);
  server->server_ = builder.BuildAndStart();
  umask(old_umask);
  if (!server->server_ || (!options.listen.empty() && server->tcp_port_ == 0)) {
    server->server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on unix:", socket_path,
                     options.listen.empty() ? "" : absl::StrCat(" and ", options.listen),
                     " (address in use or not permitted?)"));
  }
  chmod(socket_path.c_str(), 0600);
  Log(LogLevel::kInfo, absl::StrCat("serving on unix:", socket_path,
                                    server->tcp_port_ ? absl::StrCat(" and port ", server->tcp_port_)
                                                      : ""));
  return server;
}

ClownixServer::~ClownixServer() { Shutdown(); }

void ClownixServer::Wait() {
  if (server_) server_->Wait();
}

void ClownixServer::Shutdown() {
  if (!server_) return;
  // Watches end first (the server waits for every open call), then in-flight unary calls drain.
  store_->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  unlink(options_.socket_path().c_str());
}

}  // namespace clownix::server
