#include "clients/cli/command_env.h"

#include <utility>

#include "absl/strings/match.h"
#include "clients/cli/format.h"

namespace clownix::cli {

CommandEnv::CommandEnv(std::string target, absl::Duration timeout, std::ostream& out,
                       std::ostream& err, std::shared_ptr<grpc::ChannelCredentials> credentials)
    : target_(std::move(target)),
      credentials_(credentials != nullptr ? std::move(credentials)
                                          : grpc::InsecureChannelCredentials()),
      timeout_(timeout),
      out_(out),
      err_(err) {}

Client& CommandEnv::client() {
  if (client_ == nullptr) client_ = std::make_unique<Client>(target_, credentials_, timeout_);
  return *client_;
}

int CommandEnv::RpcError(const grpc::Status& status) {
  out_.flush();
  err_ << "clownix: " << status.error_message() << " ("
       << StatusCodeName(static_cast<int>(status.error_code())) << ")\n";
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      (client_ == nullptr || !client_->connected())) {
    err_ << "clownix: is clownixd running at " << target_
         << "? (choose the server with --server ADDR or CLOWNIX_SERVER)\n";
    if (!absl::StartsWith(target_, "unix:")) {
      err_ << "clownix: if it serves TLS, give its CA with --ca (and --cert/--key when it asks "
              "for a client certificate)\n";
    }
  }
  return kExitFailure;
}

int CommandEnv::UsageError(const std::string& command, const absl::Status& status) {
  out_.flush();
  err_ << "clownix: " << status.message() << "\n"
       << "Run 'clownix " << (command.empty() ? "" : command + " ") << "--help' for usage.\n";
  return kExitUsage;
}

int CommandEnv::Error(const absl::Status& status) {
  out_.flush();
  err_ << "clownix: " << status.message() << "\n";
  return kExitFailure;
}

int ParseOrExit(CommandEnv& env, const std::string& command, ArgParser& parser,
                const std::vector<std::string>& args) {
  absl::Status status = parser.Parse(args);
  if (parser.help()) {
    env.out() << parser.Help();
    return kExitOk;
  }
  if (!status.ok()) return env.UsageError(command, status);
  return -1;
}

}  // namespace clownix::cli
