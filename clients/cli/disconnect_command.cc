#include "clients/cli/disconnect_command.h"

#include "clients/cli/format.h"
#include "clients/cli/values.h"

namespace clownix::cli {

int RunDisconnectCommand(CommandEnv& env, const std::vector<std::string>& args) {
  ArgParser parser("clownix disconnect VM NIC | VM/NIC | tap:NAME",
                   "Disconnects a VM's NIC or a tap from its LAN.");
  if (int code = ParseOrExit(env, "disconnect", parser, args); code >= 0) return code;
  const std::vector<std::string>& words = parser.positionals();
  size_t used = 0;
  absl::StatusOr<v1::Endpoint> endpoint = ParseEndpoint(words, &used);
  absl::Status usage = endpoint.status();
  if (usage.ok() && words.size() != used) {
    usage = absl::InvalidArgumentError("too many arguments: expected VM NIC or tap:NAME");
  }
  if (!usage.ok()) return env.UsageError("disconnect", usage);

  v1::DisconnectRequest request;
  *request.mutable_endpoint() = *endpoint;
  v1::MutationResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().topology().Disconnect(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  env.out() << "disconnected " << EndpointText(*endpoint) << " at revision " << response.revision()
            << "\n";
  return kExitOk;
}

}  // namespace clownix::cli
