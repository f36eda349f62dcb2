// Between the API's GuestConfig (proto/clownix/v1/resources.proto) and common::GuestConfig, the
// plain form the rules (common/guest_config.h) check and vmm writes on the config disk.
#ifndef CLOWNIX_SERVER_GUEST_CONFIG_PROTO_H_
#define CLOWNIX_SERVER_GUEST_CONFIG_PROTO_H_

#include "absl/status/statusor.h"
#include "common/guest_config.h"
#include "proto/clownix/v1/resources.pb.h"

namespace clownix::server {

// The plain form of `vm`'s guest configuration, checked against its nic_count and admin:
// INVALID_ARGUMENT naming the VM and the field ("vm \"r1\": guest.files[0].mode: ...").
absl::StatusOr<common::GuestConfig> GuestConfigOf(const clownix::v1::Vm& vm);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_GUEST_CONFIG_PROTO_H_
