// The command line end to end on this side of the wire: flags, usage errors and exit codes, and
// the requests each verb sends, recorded by an in-process Topology service (the seam; the real
// clownixd is exercised in integration_tests/cli).
#include "clients/cli/cli.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/clownix/v1/machines.grpc.pb.h"
#include "proto/clownix/v1/topology.grpc.pb.h"

namespace clownix::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result RunArgs(std::vector<std::string> args, const char* env_server = nullptr) {
  std::ostringstream out, err;
  int code = RunCli(args, env_server, nullptr, out, err);
  return {code, out.str(), err.str()};
}

// Bazel's TEST_TMPDIR is too deep for a unix socket path (108 bytes at most).
const std::string& ShortTempDir() {
  static const std::string* dir = [] {
    char templ[] = "/tmp/clownix-cli-test-XXXXXX";
    if (mkdtemp(templ) == nullptr) std::abort();
    std::atexit([] { rmdir(ShortTempDir().c_str()); });
    return new std::string(templ);
  }();
  return *dir;
}

std::string DeadSocket() { return "unix:" + ShortTempDir() + "/nobody-here.sock"; }

TEST(CliTest, HelpEverywhere) {
  Result top = RunArgs({"--help"});
  EXPECT_EQ(top.code, 0);
  EXPECT_THAT(top.out, HasSubstr("commands:"));
  EXPECT_THAT(top.out, HasSubstr("watch"));
  EXPECT_EQ(RunArgs({}).code, 0);
  for (std::vector<std::string> args : {std::vector<std::string>{"lan", "--help"},
                                        {"lan", "add", "--help"},
                                        {"vm", "ls", "-h"},
                                        {"tap", "rm", "--help"},
                                        {"connect", "--help"},
                                        {"disconnect", "--help"},
                                        {"impair", "--help"},
                                        {"topo", "--help"},
                                        {"watch", "--help"},
                                        {"apply", "--help"},
                                        {"exec", "--help"},
                                        {"console", "--help"},
                                        {"start", "--help"},
                                        {"halt", "--help"},
                                        {"reboot", "--help"},
                                        {"stats", "--help"},
                                        {"image", "--help"},
                                        {"image", "ls", "--help"},
                                        {"image", "show", "--help"},
                                        {"vm", "show", "--help"}}) {
    Result r = RunArgs(args);
    EXPECT_EQ(r.code, 0) << args[0];
    EXPECT_THAT(r.out, HasSubstr("usage: clownix " + args[0])) << args[0];
    EXPECT_THAT(r.err, IsEmpty());
  }
}

TEST(CliTest, UsageErrorsExitTwoWithoutContactingTheServer) {
  const std::string server = DeadSocket();
  for (std::vector<std::string> args : {std::vector<std::string>{"frobnicate"},
                                        {"lan", "paint"},
                                        {"vm", "add"},
                                        {"vm", "add", "vm1", "--label", "oops"},
                                        {"vm", "add", "vm1", "--mem", "lots"},
                                        {"vm", "add", "a", "b"},
                                        {"connect", "vm1", "eth1"},
                                        {"connect", "vm1", "x", "lan1"},
                                        {"disconnect", "tap:"},
                                        {"impair", "vm1", "1", "--delay", "10"},
                                        {"impair", "vm1", "1", "--direction", "up"},
                                        {"watch", "--since", "-3"},
                                        {"apply"},
                                        {"stats"},
                                        {"image", "show"},
                                        {"image", "ls", "extra"},
                                        {"lan", "add", "l", "--mode", "bridge"},
                                        {"--bogus", "lan", "ls"},
                                        {"--timeout", "0s", "lan", "ls"}}) {
    std::vector<std::string> full = {"--server", server};
    full.insert(full.end(), args.begin(), args.end());
    Result r = RunArgs(full);
    EXPECT_EQ(r.code, 2) << args[0];
    EXPECT_THAT(r.err, HasSubstr("clownix: ")) << args[0];
    EXPECT_THAT(r.err, HasSubstr("--help' for usage")) << args[0];
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("UNAVAILABLE"))) << args[0];
  }
}

TEST(CliTest, UnreachableServerExitsOneWithTheReason) {
  Result r = RunArgs({"--server", DeadSocket(), "lan", "ls"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("(UNAVAILABLE)"));
  EXPECT_THAT(r.err, HasSubstr("is clownixd running at " + DeadSocket()));
}

TEST(CliTest, ServerFromEnvironment) {
  Result r = RunArgs({"vm", "ls"}, DeadSocket().c_str());
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(DeadSocket()));
}

TEST(CliTest, ExecReportsItsOwnFailuresAs255) {
  EXPECT_EQ(RunArgs({"--server", DeadSocket(), "exec", "vm1", "--", "true"}).code, 255);
  EXPECT_EQ(RunArgs({"--server", DeadSocket(), "exec", "vm1"}).code, 255);
}

TEST(CliTest, ApplyMissingFileNamesIt) {
  Result r = RunArgs({"--server", DeadSocket(), "apply", "/nonexistent/topo.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(
      r.err, HasSubstr("cannot read the topology file: open /nonexistent/topo.json: No such file"));
}

// Records the requests it gets and answers like a server that accepts everything.
class RecordingTopology final : public v1::Topology::Service {
 public:
  grpc::Status CreateVm(grpc::ServerContext*, const v1::CreateVmRequest* request,
                        v1::CreateVmResponse* response) override {
    absl::MutexLock lock(&mu_);
    create_vm_ = *request;
    *response->mutable_vm() = request->vm();
    response->set_revision(1);
    return grpc::Status::OK;
  }
  grpc::Status ListVms(grpc::ServerContext*, const v1::ListRequest* request,
                       v1::ListVmsResponse* response) override {
    absl::MutexLock lock(&mu_);
    list_ = *request;
    v1::Vm* vm = response->add_vms();
    vm->set_name("vm1");
    vm->set_state(v1::VM_STATE_RUNNING);
    vm->set_image("debian");
    (*vm->mutable_labels())["role"] = "router";
    return grpc::Status::OK;
  }
  grpc::Status Connect(grpc::ServerContext*, const v1::ConnectRequest* request,
                       v1::MutationResponse* response) override {
    absl::MutexLock lock(&mu_);
    connect_ = *request;
    response->set_revision(2);
    return grpc::Status::OK;
  }
  grpc::Status DeleteLan(grpc::ServerContext*, const v1::DeleteLanRequest* request,
                         v1::MutationResponse*) override {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "lan \"" + request->name() + "\" is still in use");
  }
  grpc::Status GetTopology(grpc::ServerContext*, const v1::GetTopologyRequest*,
                           v1::Network* network) override {
    absl::MutexLock lock(&mu_);
    *network = topology_;
    return grpc::Status::OK;
  }
  grpc::Status SetImpairment(grpc::ServerContext*, const v1::SetImpairmentRequest* request,
                             v1::MutationResponse*) override {
    absl::MutexLock lock(&mu_);
    impairment_ = *request;
    return grpc::Status::OK;
  }

  absl::Mutex mu_;
  v1::CreateVmRequest create_vm_ ABSL_GUARDED_BY(mu_);
  v1::ListRequest list_ ABSL_GUARDED_BY(mu_);
  v1::ConnectRequest connect_ ABSL_GUARDED_BY(mu_);
  v1::SetImpairmentRequest impairment_ ABSL_GUARDED_BY(mu_);
  v1::Network topology_ ABSL_GUARDED_BY(mu_);
};

// Two images, one of them the default, and a broken one left out.
class ImagesMachines final : public v1::Machines::Service {
 public:
  grpc::Status ListImages(grpc::ServerContext*, const v1::ListImagesRequest*,
                          v1::ListImagesResponse* response) override {
    v1::Image* tiny = response->add_images();
    tiny->set_name("tiny");
    tiny->set_description("busybox and dropbear");
    tiny->set_is_default(true);
    tiny->set_size_bytes(16 << 20);
    tiny->set_allocated_bytes(9 << 20);
    tiny->set_default_mem_mib(64);
    tiny->set_min_mem_mib(48);
    tiny->add_contents("busybox-static 1:1.35.0-4");
    tiny->set_root_fs("/bazel-bin/vmm/rootfs/rootfs.img");
    v1::Image* debian = response->add_images();
    debian->set_name("debian");
    debian->set_description("Debian with FRR");
    debian->set_size_bytes(uint64_t{300} << 20);
    debian->set_default_mem_mib(96);
    debian->set_min_mem_mib(64);
    debian->add_contents("frr 8.4.4-1.1~deb12u1");
    debian->add_contents("iproute2 6.1.0-3");
    debian->set_recipe_hash("abc123");
    debian->set_build_seconds(62);
    response->set_default_image("tiny");
    response->add_problems("/images/alpine/image.json: field \"min_mem_mib\" is missing");
    return grpc::Status::OK;
  }
};

class CliRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    address_ = "unix:" + ShortTempDir() + "/recording.sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address_, grpc::InsecureServerCredentials());
    builder.RegisterService(&service_);
    builder.RegisterService(&machines_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    server_->Shutdown();
    unlink((ShortTempDir() + "/recording.sock").c_str());
  }

  Result Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", address_});
    return RunArgs(args);
  }

  RecordingTopology service_;
  ImagesMachines machines_;
  std::string address_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(CliRequestTest, VmAddSendsMemNicsAndLabels) {
  Result r = Cli({"vm", "add", "vm1", "--mem", "128", "--nics", "3", "--label", "role=router",
                  "--label=zone=a"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("created vm vm1"));
  absl::MutexLock lock(&service_.mu_);
  const v1::Vm& vm = service_.create_vm_.vm();
  EXPECT_EQ(vm.name(), "vm1");
  EXPECT_EQ(vm.mem_mib(), 128u);
  EXPECT_EQ(vm.nic_count(), 3u);
  EXPECT_THAT(vm.labels(), UnorderedElementsAre(Pair("role", "router"), Pair("zone", "a")));
}

TEST_F(CliRequestTest, VmAddSendsTheImageOnlyWhenGiven) {
  ASSERT_EQ(Cli({"vm", "add", "r1", "--image", "debian"}).code, 0);
  {
    absl::MutexLock lock(&service_.mu_);
    EXPECT_EQ(service_.create_vm_.vm().image(), "debian");
  }
  Result r = Cli({"vm", "add", "h1"});
  ASSERT_EQ(r.code, 0) << r.err;
  absl::MutexLock lock(&service_.mu_);
  EXPECT_EQ(service_.create_vm_.vm().image(), "");  // the server's default
}

TEST_F(CliRequestTest, ImageLsShowsTheImagesAndSaysWhatWasLeftOut) {
  Result r = Cli({"image", "ls"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NAME    DEFAULT  SIZE  MEM            DESCRIPTION\n"));
  EXPECT_THAT(r.out, HasSubstr("tiny    *        16M   64M (min 48M)  busybox and dropbear\n"));
  EXPECT_THAT(r.out, HasSubstr("debian           300M  96M (min 64M)  Debian with FRR\n"));
  EXPECT_EQ(r.err,
            "clownix: image left out: /images/alpine/image.json: field \"min_mem_mib\" is "
            "missing\n");
  Result json = Cli({"image", "ls", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"defaultImage\": \"tiny\""));
  EXPECT_THAT(json.out, HasSubstr("\"defaultMemMib\": 96"));
}

TEST_F(CliRequestTest, ImageShowListsTheContents) {
  Result r = Cli({"image", "show", "debian"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("name:        debian\n"));
  EXPECT_THAT(r.out, HasSubstr("memory:      96 MiB by default, at least 64 MiB\n"));
  EXPECT_THAT(r.out, HasSubstr("recipe:      abc123\n"));
  EXPECT_THAT(r.out, HasSubstr("contents:    2\n  frr 8.4.4-1.1~deb12u1\n  iproute2 6.1.0-3\n"));
  EXPECT_THAT(Cli({"image", "show", "tiny"}).out, HasSubstr("name:        tiny (the default)"));
  Result missing = Cli({"image", "show", "gentoo"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err,
              HasSubstr("clownix: image \"gentoo\" does not exist; the images are: tiny, debian"));
}

TEST_F(CliRequestTest, VmAddSaysWhetherItHasTheAdminNetwork) {
  Result r = Cli({"vm", "add", "vm1"});
  ASSERT_EQ(r.code, 0) << r.err;
  {
    absl::MutexLock lock(&service_.mu_);
    EXPECT_FALSE(service_.create_vm_.vm().has_admin());  // the server's default
  }
  r = Cli({"vm", "add", "vm1", "--no-admin"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no admin network"));
  {
    absl::MutexLock lock(&service_.mu_);
    EXPECT_TRUE(service_.create_vm_.vm().has_admin());
    EXPECT_FALSE(service_.create_vm_.vm().admin());
  }
  r = Cli({"vm", "add", "vm1", "--admin"});
  ASSERT_EQ(r.code, 0) << r.err;
  {
    absl::MutexLock lock(&service_.mu_);
    EXPECT_TRUE(service_.create_vm_.vm().has_admin() && service_.create_vm_.vm().admin());
  }
  r = Cli({"vm", "add", "vm1", "--admin", "--no-admin"});
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.err, HasSubstr("not both"));
}

TEST_F(CliRequestTest, LsPassesTheSelectorAndPrintsATable) {
  Result r = Cli({"vm", "ls", "--selector", "role=router,!old"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NAME"));
  EXPECT_THAT(r.out, HasSubstr("IMAGE"));
  EXPECT_THAT(r.out, HasSubstr("vm1"));
  EXPECT_THAT(r.out, HasSubstr("running  debian"));
  EXPECT_THAT(r.out, HasSubstr("role=router"));
  absl::MutexLock lock(&service_.mu_);
  EXPECT_EQ(service_.list_.label_selector(), "role=router,!old");
}

TEST_F(CliRequestTest, ConnectForms) {
  ASSERT_EQ(Cli({"connect", "vm1", "eth2", "lan1"}).code, 0);
  {
    absl::MutexLock lock(&service_.mu_);
    EXPECT_EQ(service_.connect_.endpoint().nic().vm(), "vm1");
    EXPECT_EQ(service_.connect_.endpoint().nic().index(), 2u);
    EXPECT_EQ(service_.connect_.lan(), "lan1");
  }
  ASSERT_EQ(Cli({"connect", "tap:t0", "lan2"}).code, 0);
  absl::MutexLock lock(&service_.mu_);
  EXPECT_EQ(service_.connect_.endpoint().tap(), "t0");
  EXPECT_EQ(service_.connect_.lan(), "lan2");
}

TEST_F(CliRequestTest, ServerErrorsPrintMessageAndCode) {
  Result r = Cli({"lan", "rm", "lan1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "clownix: lan \"lan1\" is still in use (FAILED_PRECONDITION)\n");
}

TEST_F(CliRequestTest, ImpairKeepsTheOtherDirection) {
  {
    absl::MutexLock lock(&service_.mu_);
    v1::Link* link = service_.topology_.add_links();
    link->mutable_endpoint()->mutable_nic()->set_vm("vm1");
    link->mutable_endpoint()->mutable_nic()->set_index(1);
    link->set_lan("lan1");
    link->mutable_to_lan()->set_delay_us(5000);
    link->mutable_from_lan()->set_loss_percent(1);
  }
  Result r = Cli({"impair", "vm1/eth1", "--direction", "from-lan", "--delay", "20ms"});
  ASSERT_EQ(r.code, 0) << r.err;
  absl::MutexLock lock(&service_.mu_);
  EXPECT_EQ(service_.impairment_.to_lan().delay_us(), 5000u);
  EXPECT_EQ(service_.impairment_.from_lan().delay_us(), 20000u);
  EXPECT_DOUBLE_EQ(service_.impairment_.from_lan().loss_percent(), 1);
}

TEST_F(CliRequestTest, ImpairClearBothDirections) {
  {
    absl::MutexLock lock(&service_.mu_);
    v1::Link* link = service_.topology_.add_links();
    link->mutable_endpoint()->set_tap("t0");
    link->set_lan("lan1");
    link->mutable_to_lan()->set_delay_us(5000);
  }
  Result r = Cli({"impair", "tap:t0", "--clear", "--loss", "3%"});
  ASSERT_EQ(r.code, 0) << r.err;
  absl::MutexLock lock(&service_.mu_);
  EXPECT_EQ(service_.impairment_.endpoint().tap(), "t0");
  EXPECT_EQ(service_.impairment_.to_lan().delay_us(), 0u);
  EXPECT_DOUBLE_EQ(service_.impairment_.to_lan().loss_percent(), 3);
  EXPECT_DOUBLE_EQ(service_.impairment_.from_lan().loss_percent(), 3);
}

}  // namespace
}  // namespace clownix::cli
