// What every client reads the same way from a Vm of the API.
#ifndef CLOWNIX_CLIENTS_COMMON_VM_FACTS_H_
#define CLOWNIX_CLIENTS_COMMON_VM_FACTS_H_

#include "proto/clownix/v1/resources.pb.h"

namespace clownix::clients {

// Whether the VM has the admin network (Vm.admin; a server older than the field gave every VM
// one, hence "unset" means yes).
inline bool HasAdminNetwork(const v1::Vm& vm) { return !vm.has_admin() || vm.admin(); }

}  // namespace clownix::clients

#endif  // CLOWNIX_CLIENTS_COMMON_VM_FACTS_H_
