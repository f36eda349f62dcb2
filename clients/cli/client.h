// Client: the channel to clownixd and a stub per service. Connecting is lazy (gRPC connects on
// the first call), so creating a Client never fails; calls fail fast with UNAVAILABLE when the
// server is not there.
#ifndef CLOWNIX_CLIENTS_CLI_CLIENT_H_
#define CLOWNIX_CLIENTS_CLI_CLIENT_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/clownix/v1/machines.grpc.pb.h"
#include "proto/clownix/v1/switch.grpc.pb.h"
#include "proto/clownix/v1/topology.grpc.pb.h"

namespace clownix::cli {

class Client {
 public:
  // `target` is a gRPC target (ToGrpcTarget), reached with `credentials`
  // (clients::MakeChannelCredentials); `timeout` bounds each unary call.
  Client(const std::string& target, std::shared_ptr<grpc::ChannelCredentials> credentials,
         absl::Duration timeout);

  v1::Topology::Stub& topology() { return *topology_; }
  v1::Machines::Stub& machines() { return *machines_; }
  v1::Switch::Stub& lan_switch() { return *switch_; }

  // True when the channel has a live connection to the server: after a call failed with
  // UNAVAILABLE, tells "the server said so" from "no server there".
  bool connected() const;

  // Sets the unary deadline (now + timeout + extra) on `context`.
  void SetDeadline(grpc::ClientContext& context, absl::Duration extra = absl::ZeroDuration()) const;

 private:
  absl::Duration timeout_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Topology::Stub> topology_;
  std::unique_ptr<v1::Machines::Stub> machines_;
  std::unique_ptr<v1::Switch::Stub> switch_;
};

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_CLIENT_H_
