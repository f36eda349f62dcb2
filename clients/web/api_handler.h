// ApiHandler: the page's actions, each one call of the public API made with the page's own token.
//
//   POST /api/OP with a JSON body, "Authorization: Bearer TOKEN" (optional) ->
//   200 and the response message as JSON, or an error status and
//   {"error":{"code":"NOT_FOUND","message":"lan \"x\" does not exist"}} (the server's message).
//
// OP and its request message (proto JSON, proto or JSON field names):
//   vm/create CreateVmRequest    vm/delete DeleteVmRequest   vm/start StartRequest
//   vm/halt HaltRequest          vm/reboot RebootRequest     lan/create CreateLanRequest
//   lan/delete DeleteLanRequest  connect ConnectRequest      disconnect DisconnectRequest
//   impair SetImpairmentRequest
//   apply {"file": TEXT, "name": NAME, "dry_run": B, "prune": B}: TEXT is a topology file
//     (clownix.v1.Network in JSON or YAML, as `clownix apply` reads: clients/common/
//     topology_file.h), read as its NAME's extension says (.json, .yaml, .yml; otherwise by its
//     first character) -> ApplyResponse. A file that does not parse is INVALID_ARGUMENT with the
//     parser's message, which starts with "NAME:LINE:COLUMN:".
//
// Never widens a token: calls go over a channel without clownix-web's own token, carrying only
// the page's, so clownixd decides what the page may do exactly as for the CLI with that token.
// Thread-safe (the stubs are); calls block, so callers run them off the I/O thread.
#ifndef CLOWNIX_CLIENTS_WEB_API_HANDLER_H_
#define CLOWNIX_CLIENTS_WEB_API_HANDLER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "proto/clownix/v1/machines.grpc.pb.h"
#include "proto/clownix/v1/topology.grpc.pb.h"

namespace clownix::web {

struct ApiReply {
  int http_status = 200;
  std::string json;
};

class ApiHandler {
 public:
  // `channel`: to clownixd, without call credentials of clownix-web's own.
  explicit ApiHandler(std::shared_ptr<grpc::Channel> channel);

  // Runs `op` with `body`; `token` is the page's (empty: none).
  ApiReply Handle(absl::string_view op, absl::string_view body, const std::string& token);

  // Whether `token` may read the topology: one viewer call (ListLans). UNAUTHENTICATED or
  // PERMISSION_DENIED (the page must give a token), UNAVAILABLE (clownixd is down), ... with
  // clownixd's message.
  absl::Status CheckRead(const std::string& token);

  v1::Machines::Stub* machines() { return machines_.get(); }
  // The channel the page's calls go over (no token of clownix-web's own).
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Topology::Stub> topology_;
  std::unique_ptr<v1::Machines::Stub> machines_;
};

// The error JSON and HTTP status for a status (not OK).
ApiReply ErrorReply(const absl::Status& status);

// grpc::Status -> absl::Status, code and message kept.
absl::Status FromGrpc(const grpc::Status& status);

// Adds "authorization: Bearer TOKEN" unless `token` is empty.
void AddToken(grpc::ClientContext* context, const std::string& token);

}  // namespace clownix::web

#endif  // CLOWNIX_CLIENTS_WEB_API_HANDLER_H_
