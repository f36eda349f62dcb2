// The server over a real unix socket, driven by generated gRPC stubs.
#include "server/clownix_server.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/clownix/v1/machines.grpc.pb.h"
#include "proto/clownix/v1/switch.grpc.pb.h"
#include "proto/clownix/v1/topology.grpc.pb.h"

namespace clownix::server {
namespace {

using clownix::v1::Change;
using clownix::v1::WatchResponse;

class ClownixServerTest : public testing::Test {
 protected:
  void SetUp() override {
    // Bazel's TEST_TMPDIR is too long for a unix socket path (108 bytes).
    char dir[] = "/tmp/clownix-test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    options_.work_dir = dir;
    options_.ip_admin = "10.7.0.1";
    options_.backends = false;  // the topology alone; the runtime has tests of its own
    options_.image_dir = options_.work_dir + "/images";  // not the host's
    Restart();
  }
  void Restart() {
    server_.reset();
    auto server = ClownixServer::Create(options_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ =
        grpc::CreateChannel("unix:" + options_.socket_path(), grpc::InsecureChannelCredentials());
    topology_ = clownix::v1::Topology::NewStub(channel_);
  }

  grpc::Status CreateLan(const std::string& name, uint64_t* revision = nullptr) {
    grpc::ClientContext context;
    clownix::v1::CreateLanRequest request;
    request.mutable_lan()->set_name(name);
    clownix::v1::CreateLanResponse response;
    grpc::Status status = topology_->CreateLan(&context, request, &response);
    if (revision) *revision = response.revision();
    return status;
  }
  grpc::Status CreateVm(const std::string& name, uint32_t nics = 2) {
    grpc::ClientContext context;
    clownix::v1::CreateVmRequest request;
    request.mutable_vm()->set_name(name);
    request.mutable_vm()->set_nic_count(nics);
    (*request.mutable_vm()->mutable_labels())["role"] = name == "r" ? "router" : "host";
    clownix::v1::CreateVmResponse response;
    return topology_->CreateVm(&context, request, &response);
  }

  void TearDown() override {
    server_.reset();
    ASSERT_EQ(system(("rm -rf " + options_.work_dir).c_str()), 0);
  }

  ServerOptions options_;
  std::unique_ptr<ClownixServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<clownix::v1::Topology::Stub> topology_;
};

TEST_F(ClownixServerTest, SocketIsOwnerOnly) {
  struct stat st;
  ASSERT_EQ(stat(options_.socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(ClownixServerTest, CreateListGetAndErrors) {
  uint64_t revision = 0;
  ASSERT_TRUE(CreateLan("l1", &revision).ok());
  EXPECT_EQ(revision, 1u);
  ASSERT_TRUE(CreateVm("a").ok());
  grpc::Status dup = CreateLan("l1");
  EXPECT_EQ(dup.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(dup.error_message(), "lan \"l1\" already exists");
  EXPECT_EQ(CreateLan("BAD NAME").error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext get_context;
  clownix::v1::GetVmRequest get;
  get.set_name("a");
  clownix::v1::Vm vm;
  ASSERT_TRUE(topology_->GetVm(&get_context, get, &vm).ok());
  EXPECT_EQ(vm.admin_ip(), "10.7.0.1");
  EXPECT_EQ(vm.state(), clownix::v1::VM_STATE_DEFINED);

  grpc::ClientContext missing_context;
  get.set_name("zz");
  EXPECT_EQ(topology_->GetVm(&missing_context, get, &vm).error_code(), grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext list_context;
  clownix::v1::ListRequest list;
  list.set_label_selector("role=router");
  clownix::v1::ListVmsResponse vms;
  ASSERT_TRUE(CreateVm("r").ok());
  ASSERT_TRUE(topology_->ListVms(&list_context, list, &vms).ok());
  ASSERT_EQ(vms.vms_size(), 1);
  EXPECT_EQ(vms.vms(0).name(), "r");

  grpc::ClientContext bad_selector_context;
  list.set_label_selector("=x");
  EXPECT_EQ(topology_->ListVms(&bad_selector_context, list, &vms).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ClownixServerTest, WatchSnapshotThenDeltasThenResume) {
  ASSERT_TRUE(CreateLan("l1").ok());
  grpc::ClientContext context;
  clownix::v1::WatchRequest request;
  auto reader = topology_->Watch(&context, request);
  WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));
  ASSERT_TRUE(response.has_snapshot());
  EXPECT_EQ(response.snapshot().reason(), clownix::v1::Snapshot::INITIAL);
  EXPECT_EQ(response.snapshot().topology().revision(), 1u);
  ASSERT_EQ(response.snapshot().topology().lans_size(), 1);

  ASSERT_TRUE(CreateLan("l2").ok());
  ASSERT_TRUE(CreateVm("a").ok());
  std::vector<uint64_t> revisions;
  while (revisions.size() < 2 && reader->Read(&response)) {
    for (const auto& event : response.events()) revisions.push_back(event.revision());
  }
  EXPECT_EQ(revisions, (std::vector<uint64_t>{2, 3}));
  context.TryCancel();
  EXPECT_FALSE(reader->Read(&response));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // Resume after 1: exactly 2 and 3, no snapshot.
  grpc::ClientContext resume_context;
  request.set_since_revision(1);
  auto resumed = topology_->Watch(&resume_context, request);
  ASSERT_TRUE(resumed->Read(&response));
  EXPECT_FALSE(response.has_snapshot());
  ASSERT_EQ(response.events_size(), 2);
  EXPECT_EQ(response.events(0).revision(), 2u);
  EXPECT_EQ(response.events(1).changes(0).vm().name(), "a");
  resume_context.TryCancel();
  resumed->Finish();
}

TEST_F(ClownixServerTest, ResumeSurvivesARestartAndTheFutureGetsASnapshot) {
  ASSERT_TRUE(CreateLan("l1").ok());
  ASSERT_TRUE(CreateLan("l2").ok());
  Restart();
  grpc::ClientContext context;
  clownix::v1::WatchRequest request;
  request.set_since_revision(1);
  auto reader = topology_->Watch(&context, request);
  WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));
  ASSERT_EQ(response.events_size(), 1);
  EXPECT_EQ(response.events(0).changes(0).lan().name(), "l2");
  context.TryCancel();
  reader->Finish();

  grpc::ClientContext future_context;
  request.set_since_revision(1000);
  auto future = topology_->Watch(&future_context, request);
  ASSERT_TRUE(future->Read(&response));
  ASSERT_TRUE(response.has_snapshot());
  EXPECT_EQ(response.snapshot().reason(), clownix::v1::Snapshot::HISTORY_EXPIRED);
  EXPECT_EQ(response.snapshot().topology().revision(), 2u);
  future_context.TryCancel();
  future->Finish();
}

TEST_F(ClownixServerTest, IdleWatchGetsHeartbeats) {
  ASSERT_TRUE(CreateLan("l1").ok());
  grpc::ClientContext context;
  clownix::v1::WatchRequest request;
  request.set_since_revision(1);
  request.set_heartbeat_interval_ms(200);
  auto reader = topology_->Watch(&context, request);
  WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));
  ASSERT_TRUE(response.has_heartbeat());
  EXPECT_EQ(response.heartbeat().revision(), 1u);
  context.TryCancel();
  reader->Finish();
}

TEST_F(ClownixServerTest, WatchWithSelectorSeesOnlyMatchingChanges) {
  ASSERT_TRUE(CreateLan("l1").ok());
  grpc::ClientContext context;
  clownix::v1::WatchRequest request;
  request.set_since_revision(1);
  request.set_label_selector("role=router");
  auto reader = topology_->Watch(&context, request);
  ASSERT_TRUE(CreateVm("h").ok());  // filtered out
  ASSERT_TRUE(CreateVm("r").ok());
  WatchResponse response;
  std::vector<std::string> names;
  while (names.empty() && reader->Read(&response)) {
    for (const auto& event : response.events()) {
      for (const auto& change : event.changes()) names.push_back(change.vm().name());
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"r"}));
  context.TryCancel();
  reader->Finish();

  grpc::ClientContext bad_context;
  request.set_label_selector("!");
  auto bad = topology_->Watch(&bad_context, request);
  EXPECT_FALSE(bad->Read(&response));
  EXPECT_EQ(bad->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ClownixServerTest, AWatchCanLeaveTheGuestConfigOut) {
  auto create_with_guest = [&](const std::string& name) {
    grpc::ClientContext context;
    clownix::v1::CreateVmRequest request;
    request.mutable_vm()->set_name(name);
    request.mutable_vm()->mutable_guest()->set_startup("echo configured");
    clownix::v1::CreateVmResponse response;
    return topology_->CreateVm(&context, request, &response);
  };
  ASSERT_TRUE(create_with_guest("a").ok());
  // One watcher with the option, one without: the first VM in the snapshot, the second in an
  // event.
  std::vector<clownix::v1::Vm> seen[2];
  grpc::ClientContext contexts[2];
  std::unique_ptr<grpc::ClientReader<WatchResponse>> readers[2];
  for (int omit = 0; omit < 2; ++omit) {
    clownix::v1::WatchRequest request;
    request.set_omit_guest_config(omit == 1);
    readers[omit] = topology_->Watch(&contexts[omit], request);
  }
  ASSERT_TRUE(create_with_guest("b").ok());
  for (int omit = 0; omit < 2; ++omit) {
    WatchResponse response;
    while (seen[omit].size() < 2 && readers[omit]->Read(&response)) {
      for (const auto& vm : response.snapshot().topology().vms()) seen[omit].push_back(vm);
      for (const auto& event : response.events()) {
        for (const auto& change : event.changes()) {
          if (change.has_vm()) seen[omit].push_back(change.vm());
        }
      }
    }
    contexts[omit].TryCancel();
    readers[omit]->Finish();
    ASSERT_EQ(seen[omit].size(), 2u);
    for (const clownix::v1::Vm& vm : seen[omit]) {
      EXPECT_EQ(vm.has_guest(), omit == 0) << vm.name() << (omit ? " with" : " without");
      if (omit == 0) EXPECT_EQ(vm.guest().startup(), "echo configured");
      EXPECT_EQ(vm.state(), clownix::v1::VM_STATE_DEFINED);  // the rest is all there
    }
  }
}

TEST_F(ClownixServerTest, ApplyDryRunThenApply) {
  clownix::v1::ApplyRequest request;
  auto* desired = request.mutable_desired();
  desired->add_lans()->set_name("l1");
  auto* vm = desired->add_vms();
  vm->set_name("a");
  vm->set_nic_count(2);
  auto* link = desired->add_links();
  link->mutable_endpoint()->mutable_nic()->set_vm("a");
  link->mutable_endpoint()->mutable_nic()->set_index(1);
  link->set_lan("l1");
  request.set_dry_run(true);
  clownix::v1::ApplyResponse response;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(topology_->Apply(&context, request, &response).ok());
  }
  EXPECT_EQ(response.plan_size(), 3);
  EXPECT_EQ(response.revision(), 0u);
  request.set_dry_run(false);
  {
    grpc::ClientContext context;
    ASSERT_TRUE(topology_->Apply(&context, request, &response).ok());
  }
  ASSERT_EQ(response.plan_size(), 3);
  for (const auto& item : response.plan()) EXPECT_EQ(item.status_code(), 0) << item.name();
  EXPECT_EQ(response.revision(), 3u);
  grpc::ClientContext topo_context;
  clownix::v1::Network network;
  ASSERT_TRUE(topology_->GetTopology(&topo_context, {}, &network).ok());
  EXPECT_EQ(network.links_size(), 1);
}

TEST_F(ClownixServerTest, MachinesWithoutARuntimeSaySo) {
  ASSERT_TRUE(CreateVm("a").ok());
  auto machines = clownix::v1::Machines::NewStub(channel_);
  clownix::v1::ExecRequest exec;
  exec.set_vm("a");
  exec.set_command("true");
  clownix::v1::ExecResponse response;
  grpc::ClientContext context;
  grpc::Status status = machines->Exec(&context, exec, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("VM_STATE_DEFINED"), std::string::npos);
  grpc::ClientContext missing;
  exec.set_vm("nope");
  EXPECT_EQ(machines->Exec(&missing, exec, &response).error_code(), grpc::StatusCode::NOT_FOUND);

  auto switch_stub = clownix::v1::Switch::NewStub(channel_);
  grpc::ClientContext stats_context;
  clownix::v1::GetLanStatsRequest stats;
  stats.set_lan("nope");
  clownix::v1::LanStats lan_stats;
  EXPECT_EQ(switch_stub->GetLanStats(&stats_context, stats, &lan_stats).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ClownixServerTest, ImagesByName) {
  auto machines = clownix::v1::Machines::NewStub(channel_);
  auto list = [&machines] {
    grpc::ClientContext context;
    clownix::v1::ListImagesResponse response;
    EXPECT_TRUE(machines->ListImages(&context, {}, &response).ok());
    return response;
  };
  // The built-in tiny (this test's data), the default.
  clownix::v1::ListImagesResponse images = list();
  EXPECT_EQ(images.default_image(), "tiny");
  ASSERT_EQ(images.images_size(), 1);
  EXPECT_EQ(images.images(0).name(), "tiny");
  EXPECT_TRUE(images.images(0).is_default());
  EXPECT_EQ(images.images(0).default_mem_mib(), 64u);
  EXPECT_GT(images.images(0).size_bytes(), 0u);
  EXPECT_GT(images.images(0).contents_size(), 0);

  auto create = [this](const std::string& name, const std::string& image,
                       clownix::v1::Vm* created = nullptr) {
    grpc::ClientContext context;
    clownix::v1::CreateVmRequest request;
    request.mutable_vm()->set_name(name);
    request.mutable_vm()->set_image(image);
    clownix::v1::CreateVmResponse response;
    grpc::Status status = topology_->CreateVm(&context, request, &response);
    if (created) *created = response.vm();
    return status;
  };
  clownix::v1::Vm vm;
  ASSERT_TRUE(create("a", "", &vm).ok());
  EXPECT_EQ(vm.image(), "tiny");
  EXPECT_EQ(vm.mem_mib(), 64u);
  grpc::Status unknown = create("b", "debian");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(),
            "vm \"b\": image \"debian\" does not exist; the images are: tiny");

  // Built while clownixd runs: there at once.
  std::string dir = options_.image_dir + "/debian";
  ASSERT_EQ(system(("mkdir -p " + dir + " && truncate -s 1M " + dir + "/rootfs.img").c_str()), 0);
  {
    std::ofstream manifest(dir + "/image.json");
    manifest << R"({"name": "debian", "description": "Debian with FRR", "root_fs": "rootfs.img",
                   "default_mem_mib": 96, "min_mem_mib": 80, "contents": ["frr 8.4.4"],
                   "recipe_hash": "ab12", "build_seconds": 120})";
  }
  images = list();
  ASSERT_EQ(images.images_size(), 2);
  EXPECT_EQ(images.images(0).name(), "debian");
  EXPECT_FALSE(images.images(0).is_default());
  ASSERT_TRUE(create("b", "debian", &vm).ok());
  EXPECT_EQ(vm.mem_mib(), 96u);

  // A restart keeps each VM's image.
  Restart();
  grpc::ClientContext context;
  clownix::v1::GetVmRequest get;
  get.set_name("b");
  ASSERT_TRUE(topology_->GetVm(&context, get, &vm).ok());
  EXPECT_EQ(vm.image(), "debian");
}

}  // namespace
}  // namespace clownix::server
