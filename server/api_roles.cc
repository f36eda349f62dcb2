#include "server/api_roles.h"

namespace clownix::server {
namespace {

struct MethodRole {
  absl::string_view method;
  Role role;
};

// The table: every RPC of every service clownixd serves. Sorted by service, then as in the .proto.
constexpr MethodRole kMethodRoles[] = {
    // clownix.v1.Machines: a command or a console in a guest is root there.
    {"/clownix.v1.Machines/Exec", Role::kAdmin},
    {"/clownix.v1.Machines/Console", Role::kAdmin},
    {"/clownix.v1.Machines/Start", Role::kOperator},
    {"/clownix.v1.Machines/Halt", Role::kOperator},
    {"/clownix.v1.Machines/Reboot", Role::kOperator},
    {"/clownix.v1.Machines/ListImages", Role::kViewer},
    {"/clownix.v1.Machines/GetServerInfo", Role::kViewer},
    // clownix.v1.Switch
    {"/clownix.v1.Switch/GetLanStats", Role::kViewer},
    // A capture shows what the guests send, contents and all (passwords of a telnet login, keys
    // in clear-text protocols), where viewers see only the shape of the network and its counters;
    // it also takes one of the switch's few capture slots. It gives no way into a guest: operator,
    // not admin.
    {"/clownix.v1.Switch/Capture", Role::kOperator},
    // clownix.v1.Topology
    {"/clownix.v1.Topology/CreateVm", Role::kOperator},
    {"/clownix.v1.Topology/DeleteVm", Role::kOperator},
    {"/clownix.v1.Topology/GetVm", Role::kViewer},
    {"/clownix.v1.Topology/ListVms", Role::kViewer},
    {"/clownix.v1.Topology/CreateLan", Role::kOperator},
    {"/clownix.v1.Topology/DeleteLan", Role::kOperator},
    {"/clownix.v1.Topology/ListLans", Role::kViewer},
    {"/clownix.v1.Topology/CreateTap", Role::kOperator},
    {"/clownix.v1.Topology/DeleteTap", Role::kOperator},
    {"/clownix.v1.Topology/ListTaps", Role::kViewer},
    {"/clownix.v1.Topology/Connect", Role::kOperator},
    {"/clownix.v1.Topology/Disconnect", Role::kOperator},
    {"/clownix.v1.Topology/SetImpairment", Role::kOperator},
    {"/clownix.v1.Topology/GetTopology", Role::kViewer},
    {"/clownix.v1.Topology/Watch", Role::kViewer},
    // Apply changes the network even when a dry run is asked for: the role is the method's.
    {"/clownix.v1.Topology/Apply", Role::kOperator},
    // gRPC's health service (grpc.health.v1) and server reflection (v1alpha is what gRPC 1.51
    // serves; v1 is what newer gRPC serves).
    {"/grpc.health.v1.Health/Check", Role::kViewer},
    {"/grpc.health.v1.Health/Watch", Role::kViewer},
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Role::kViewer},
    {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Role::kViewer},
};

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

std::optional<Role> ParseRole(absl::string_view name) {
  for (Role role : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    if (name == RoleName(role)) return role;
  }
  return std::nullopt;
}

std::optional<Role> RequiredRole(absl::string_view method) {
  // 28 entries: a scan is as fast as a hash and keeps the table a plain constant.
  for (const MethodRole& entry : kMethodRoles) {
    if (entry.method == method) return entry.role;
  }
  return std::nullopt;
}

}  // namespace clownix::server
