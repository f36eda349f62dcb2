#include "server/api_roles.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor_database.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "gtest/gtest.h"
#include "proto/clownix/v1/machines.pb.h"
#include "proto/clownix/v1/switch.pb.h"
#include "proto/clownix/v1/topology.pb.h"
#include "proto/grpc/health/v1/health.pb.h"

namespace clownix::server {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

// Every service in the generated pool: the linked .proto files, the ones clownixd links included
// (clownix.v1, grpc.health.v1, and gRPC's reflection from libgrpc++_reflection).
std::vector<const ServiceDescriptor*> AllGeneratedServices() {
  // Linked in as clownixd links them.
  (void)v1::CreateVmRequest::descriptor();
  (void)v1::ExecRequest::descriptor();
  (void)v1::GetLanStatsRequest::descriptor();
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  (void)&grpc::reflection::InitProtoReflectionServerBuilderPlugin;
  std::vector<std::string> files;
  EXPECT_TRUE(DescriptorPool::internal_generated_database()->FindAllFileNames(&files));
  std::vector<const ServiceDescriptor*> services;
  for (const std::string& name : files) {
    const FileDescriptor* file = DescriptorPool::generated_pool()->FindFileByName(name);
    if (file == nullptr) continue;
    for (int i = 0; i < file->service_count(); ++i) services.push_back(file->service(i));
  }
  return services;
}

TEST(ApiRoles, EveryMethodOfEveryServiceHasARole) {
  std::set<std::string> seen;
  for (const ServiceDescriptor* service : AllGeneratedServices()) {
    seen.insert(service->full_name());
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* method = service->method(i);
      std::string path = absl::StrCat("/", service->full_name(), "/", method->name());
      EXPECT_TRUE(RequiredRole(path).has_value()) << path << " has no role in api_roles.cc";
    }
  }
  // The pool really holds what clownixd serves (a link that dropped one would hide it).
  for (const char* expected :
       {"clownix.v1.Topology", "clownix.v1.Machines", "clownix.v1.Switch", "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_EQ(seen.count(expected), 1u) << expected;
  }
}

TEST(ApiRoles, RolesFollowTheIssue) {
  EXPECT_EQ(RequiredRole("/clownix.v1.Topology/GetTopology"), Role::kViewer);
  EXPECT_EQ(RequiredRole("/clownix.v1.Topology/Watch"), Role::kViewer);
  EXPECT_EQ(RequiredRole("/clownix.v1.Switch/GetLanStats"), Role::kViewer);
  EXPECT_EQ(RequiredRole("/grpc.health.v1.Health/Check"), Role::kViewer);
  EXPECT_EQ(RequiredRole("/clownix.v1.Topology/Apply"), Role::kOperator);
  EXPECT_EQ(RequiredRole("/clownix.v1.Topology/SetImpairment"), Role::kOperator);
  EXPECT_EQ(RequiredRole("/clownix.v1.Machines/Halt"), Role::kOperator);
  EXPECT_EQ(RequiredRole("/clownix.v1.Machines/Exec"), Role::kAdmin);
  EXPECT_EQ(RequiredRole("/clownix.v1.Machines/Console"), Role::kAdmin);
  EXPECT_EQ(RequiredRole("/clownix.v1.Machines/Nope"), std::nullopt);
  EXPECT_EQ(RequiredRole("clownix.v1.Machines/Exec"), std::nullopt);
}

TEST(ApiRoles, NamesRoundTripAndOrder) {
  for (Role role : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  EXPECT_EQ(ParseRole("Admin"), std::nullopt);
  EXPECT_EQ(ParseRole(""), std::nullopt);
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Role::kViewer));
  EXPECT_TRUE(RoleAllows(Role::kOperator, Role::kOperator));
  EXPECT_FALSE(RoleAllows(Role::kOperator, Role::kAdmin));
  EXPECT_FALSE(RoleAllows(Role::kViewer, Role::kOperator));
}

}  // namespace
}  // namespace clownix::server
