// The API's roles and the one table saying which role each RPC needs.
//
// Roles are ordered: viewer < operator < admin, and a role may do everything the roles below it
// may do. viewer reads (Get, List, Watch, stats, health, reflection); operator also changes the
// network (every mutation, Apply, Start, Halt, Reboot, impairments) and captures its packets
// (Capture: the packets carry what the guests say); admin also gets root inside
// the guests (Exec, Console). Every RPC clownixd serves, in every service (clownix.v1, health,
// reflection), has a line in the table in api_roles.cc; api_roles_test checks that against every
// service in the generated descriptor pool, so a new RPC cannot be forgotten.
#ifndef CLOWNIX_SERVER_API_ROLES_H_
#define CLOWNIX_SERVER_API_ROLES_H_

#include <optional>

#include "absl/strings/string_view.h"

namespace clownix::server {

enum class Role { kViewer = 1, kOperator = 2, kAdmin = 3 };

// "viewer", "operator", "admin".
absl::string_view RoleName(Role role);

// The role named `name` (exactly as RoleName spells it), or nullopt.
std::optional<Role> ParseRole(absl::string_view name);

// Whether `held` may do what `needed` may do.
inline bool RoleAllows(Role held, Role needed) {
  return static_cast<int>(held) >= static_cast<int>(needed);
}

// The role a call to `method` needs; `method` is the HTTP/2 path, "/package.Service/Method".
// nullopt for a method that is not in the table (clownixd does not serve it).
std::optional<Role> RequiredRole(absl::string_view method);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_API_ROLES_H_
