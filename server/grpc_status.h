// The one place where absl::Status becomes grpc::Status, at the service edge.
#ifndef CLOWNIX_SERVER_GRPC_STATUS_H_
#define CLOWNIX_SERVER_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace clownix::server {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_GRPC_STATUS_H_
