#include "server/clownix_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/file_io.h"
#include "common/seed_rules.h"
#include "common/subprocess.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "proto/grpc/health/v1/health.pb.h"
#include "server/api_access.h"
#include "server/bulk_paths.h"
#include "server/log.h"

namespace clownix::server {
namespace {

// The admin network's X.Y: from ip_admin, else the default (VMs need one; no host address then).
std::pair<uint8_t, uint8_t> AdminPrefix(const ServerOptions& options) {
  return options.admin_prefix().value_or(
      std::make_pair(common::kDefaultAdminPrefix[0], common::kDefaultAdminPrefix[1]));
}

constexpr size_t kMaxKeyBytes = 64 << 10;

// The RSA public key that goes into every VM: the given one, or one generated into the work dir.
absl::StatusOr<std::string> PublicKey(const ServerOptions& options) {
  if (!options.rsa_public.empty()) return common::ReadFile(options.rsa_public, kMaxKeyBytes);
  std::string key = options.work_dir + "/id_rsa";
  if (access((key + ".pub").c_str(), R_OK) != 0) {
    common::SpawnOptions keygen;
    keygen.argv = {"ssh-keygen", "-q", "-t", "rsa",     "-b", "2048",
                   "-N",         "",   "-C", "clownix", "-f", key};
    if (absl::Status s = common::RunChecked(keygen); !s.ok()) {
      return absl::UnavailableError(
          absl::StrCat(s.message(), " (install openssh-client or give --rsa_public)"));
    }
  }
  return common::ReadFile(key + ".pub", kMaxKeyBytes);
}

// The images: BULK_DIR/images, the image dir, then the built-in `tiny` (bulk_paths.h).
absl::StatusOr<std::unique_ptr<ImageCatalog>> CreateImageCatalog(const ServerOptions& options) {
  ImageCatalog::Options images;
  if (!options.bulk_dir.empty()) images.dirs.push_back(options.bulk_dir + "/images");
  if (!options.image_dir.empty()) images.dirs.push_back(options.image_dir);
  absl::StatusOr<BuiltinImage> builtin = FindBuiltinImage(options.bulk_dir);
  if (builtin.ok()) {
    images.builtin_manifest = builtin->manifest;
    images.builtin_root_fs = builtin->root_fs_override;
  } else {
    // Not fatal: the image directories may have images (--nobackends runs anywhere, too).
    Log(LogLevel::kWarning, absl::StrCat("no built-in image: ", builtin.status().message()));
  }
  images.default_image = options.default_image;
  return ImageCatalog::Create(std::move(images));
}

absl::StatusOr<std::unique_ptr<RuntimeController>> CreateRuntime(const ServerOptions& options,
                                                                 TopologyStore* store,
                                                                 MemoryBudget* budget,
                                                                 ImageCatalog* images) {
  absl::StatusOr<BulkPaths> bulk = FindBulkPaths(options.bulk_dir);
  if (!bulk.ok()) return bulk.status();
  absl::StatusOr<std::string> key = PublicKey(options);
  if (!key.ok()) return key.status();
  RuntimeController::Options runtime;
  runtime.work_dir = options.work_dir;
  runtime.switchcore_path = bulk->switchcore;
  runtime.vmm.work_dir = options.work_dir;
  runtime.vmm.kernel = bulk->kernel;
  runtime.vmm.root_fs = bulk->root_fs;
  auto [x, y] = AdminPrefix(options);
  runtime.vmm.admin_prefix = absl::StrCat(x, ".", y);
  runtime.vmm.rsa_public_key = std::string(absl::StripAsciiWhitespace(*key));
  runtime.vmm.root_fs_mode = options.root_fs;
  runtime.vmm.xstate_fix_library = bulk->xstate_fix;
  runtime.vmm.confinement.vm_uid_base = options.vm_uid_base;
  runtime.vmm.confinement.address_randomization = options.vm_address_randomization;
  runtime.ip_admin = options.ip_admin;
  runtime.admin_netns = options.admin_netns;
  runtime.admin_tap = options.admin_tap;
  runtime.num_tap = options.num_tap;
  runtime.find_image = [images](const std::string& name) { return images->Find(name); };
  runtime.max_booting = static_cast<int>(options.max_booting_vms);
  return RuntimeController::Create(store, budget, std::move(runtime));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClownixServer>> ClownixServer::Create(const ServerOptions& options) {
  std::unique_ptr<ClownixServer> server(new ClownixServer(options));
  // First, so that a bad tokens file, certificate or group stops clownixd before it starts VMs.
  absl::StatusOr<std::unique_ptr<ApiAccess>> access = ApiAccess::Create(options);
  if (!access.ok()) return access.status();
  absl::StatusOr<std::unique_ptr<ImageCatalog>> images = CreateImageCatalog(options);
  if (!images.ok()) return images.status();
  server->images_ = *std::move(images);
  ImageCatalog* catalog = server->images_.get();
  if (options.backends) {
    int64_t budget_mib = options.vm_memory_budget_mib;
    if (budget_mib == 0) {
      absl::StatusOr<int64_t> host = MemoryBudget::HostDefaultBudgetMib();
      if (!host.ok()) return host.status();
      budget_mib = *host;
    }
    server->budget_ = std::make_unique<MemoryBudget>(budget_mib);
    Log(LogLevel::kInfo,
        absl::StrCat("VM memory budget ", budget_mib, " MiB (each VM: mem + ",
                     MemoryBudget::kUmlOverheadMib, " MiB), at most ",
                     options.max_booting_vms == 0 ? std::string("any number of")
                                                  : absl::StrCat(options.max_booting_vms),
                     " VMs booting at once"));
  }
  TopologyStore::Options store_options;
  store_options.check_change = RuntimeController::BudgetCheck(server->budget_.get());
  store_options.work_dir = options.work_dir;
  store_options.rules.admin_prefix = AdminPrefix(options);
  store_options.rules.admin_default = options.admin_default;
  store_options.rules.default_image = options.default_image;
  store_options.rules.find_image = [catalog](const std::string& name) {
    return catalog->Find(name);
  };
  TopologyStore::Recovery recovery;
  absl::StatusOr<std::unique_ptr<TopologyStore>> store =
      TopologyStore::Create(store_options, &recovery);
  if (!store.ok()) return store.status();
  server->store_ = *std::move(store);
  Log(LogLevel::kInfo, absl::StrCat("recovered revision ", server->store_->revision(),
                                    " (snapshot at ", recovery.snapshot_revision, ", ",
                                    recovery.journal_records, " journal records)"));

  if (options.backends) {
    absl::StatusOr<std::unique_ptr<RuntimeController>> runtime =
        CreateRuntime(options, server->store_.get(), server->budget_.get(), catalog);
    if (!runtime.ok()) return runtime.status();
    server->runtime_ = *std::move(runtime);
  }

  WatchReactor::Limits watch_limits;
  watch_limits.queue_limit = options.watch_queue_limit;
  server->topology_ =
      std::make_unique<TopologyService>(server->store_.get(), watch_limits, server->runtime_.get());
  server->machines_ =
      std::make_unique<MachinesService>(server->store_.get(), server->runtime_.get(), catalog);
  server->switch_ = std::make_unique<SwitchService>(server->store_.get(), server->runtime_.get());

  // Reflection describes what the binary has descriptors for: touching the health descriptor
  // keeps it linked in, so the Health service the server lists can be described too.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  // We hold the work dir's lock, so a socket file left there is stale.
  std::string socket_path = options.socket_path();
  unlink(socket_path.c_str());
  grpc::ServerBuilder builder;
  (*access)->AddListeningPorts(builder, &server->tcp_port_);
  std::string tcp_listen = options.listen.empty() ? options.insecure_listen : options.listen;
  builder.RegisterService(server->topology_.get());
  builder.RegisterService(server->machines_.get());
  builder.RegisterService(server->switch_.get());
  // The socket is created by BuildAndStart: create it owner-only from the start.
  mode_t old_umask = umask(0077);
  server->server_ = builder.BuildAndStart();
  umask(old_umask);
  if (!server->server_ || (!tcp_listen.empty() && server->tcp_port_ == 0)) {
    server->server_.reset();
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on unix:", socket_path,
        tcp_listen.empty() ? "" : absl::StrCat(" and ", tcp_listen),
        " (address in use or not permitted?",
        options.listen.empty() ? "" : " a TLS key that does not fit its certificate?", ")"));
  }
  if (absl::Status s = (*access)->SecureSocket(); !s.ok()) {
    server->Shutdown();
    return s;
  }
  Log(LogLevel::kInfo, absl::StrCat("serving on ", (*access)->Describe(server->tcp_port_)));
  return server;
}

ClownixServer::~ClownixServer() { Shutdown(); }

void ClownixServer::Wait() {
  if (server_) server_->Wait();
}

void ClownixServer::Shutdown() {
  if (!server_) return;
  // Watches end first and the VMs and the switch stop (a command running in a VM ends with it),
  // so that the server, which waits for every open call, drains at once; then the store.
  store_->hub().Shutdown();
  if (runtime_) runtime_->Stop();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  machines_->WaitForCalls();
  topology_->WaitForCalls();
  store_->Shutdown();
  unlink(options_.socket_path().c_str());
}

}  // namespace clownix::server
