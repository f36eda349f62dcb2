// CommandEnv: what every verb of `clownix` gets: output streams, the server connection (made on
// first use) and the one way to report errors, so that every verb fails alike:
//   usage errors   -> "clownix: <what>" + a pointer to --help, exit 2 (kExitUsage)
//   server errors  -> "clownix: <gRPC message> (<CODE>)", exit 1 (kExitFailure)
#ifndef CLOWNIX_CLIENTS_CLI_COMMAND_ENV_H_
#define CLOWNIX_CLIENTS_CLI_COMMAND_ENV_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "clients/cli/arg_parser.h"
#include "clients/cli/client.h"
#include "grpcpp/grpcpp.h"

namespace clownix::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

class CommandEnv {
 public:
  // `target` is the gRPC target of clownixd (not contacted until client() is first used),
  // reached with `credentials` (null: plaintext, no token).
  CommandEnv(std::string target, absl::Duration timeout, std::ostream& out, std::ostream& err,
             std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  const std::string& target() const { return target_; }
  Client& client();

  // Prints the failed call's message and code; returns kExitFailure.
  int RpcError(const grpc::Status& status);
  // Prints `status`'s message and where to get help (`command` is "vm add"); returns kExitUsage.
  int UsageError(const std::string& command, const absl::Status& status);
  // Prints a non-usage failure that happened on this side (a file that can't be read, ...);
  // returns kExitFailure.
  int Error(const absl::Status& status);

 private:
  std::string target_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  absl::Duration timeout_;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<Client> client_;
};

// The start of every verb: parses `args` into `parser`. Returns -1 when the verb should go on;
// otherwise the exit code to return right away (help printed: 0; usage error printed: 2).
int ParseOrExit(CommandEnv& env, const std::string& command, ArgParser& parser,
                const std::vector<std::string>& args);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_COMMAND_ENV_H_
