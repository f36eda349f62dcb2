#include "clients/cli/connect_command.h"

#include "absl/types/span.h"
#include "clients/cli/format.h"
#include "clients/cli/values.h"

namespace clownix::cli {

int RunConnectCommand(CommandEnv& env, const std::vector<std::string>& args) {
  ArgParser parser(
      "clownix connect VM NIC LAN | VM/NIC LAN | tap:NAME LAN",
      "Connects a VM's NIC (eth1 or 1; eth0 is the admin NIC, except on a VM without the admin "
      "network) or a tap to a LAN. Hot-plugs when the VM runs.");
  if (int code = ParseOrExit(env, "connect", parser, args); code >= 0) return code;
  const std::vector<std::string>& words = parser.positionals();
  size_t used = 0;
  absl::StatusOr<v1::Endpoint> endpoint = ParseEndpoint(words, &used);
  absl::Status usage = endpoint.status();
  if (usage.ok() && words.size() != used + 1) {
    usage = absl::InvalidArgumentError(words.size() <= used
                                           ? "missing LAN: expected VM NIC LAN or tap:NAME LAN"
                                           : "too many arguments: expected VM NIC LAN or "
                                             "tap:NAME LAN");
  }
  if (!usage.ok()) return env.UsageError("connect", usage);

  v1::ConnectRequest request;
  *request.mutable_endpoint() = *endpoint;
  request.set_lan(words[used]);
  v1::MutationResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().topology().Connect(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  env.out() << "connected " << EndpointText(*endpoint) << " to " << request.lan() << " at revision "
            << response.revision() << "\n";
  return kExitOk;
}

}  // namespace clownix::cli
