// clownix-web: the clownix network in a browser, with a terminal one click away. See docs/web.md.
// This file only parses flags and wires the libraries together.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "clients/common/channel_security.h"
#include "clients/common/server_address.h"
#include "clients/web/api_handler.h"
#include "clients/web/watch_hub.h"
#include "clients/web/web_server.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8420",
          "HOST:PORT the page is served on (port 0: any free port; the address is printed)");
ABSL_FLAG(std::string, server, "",
          "clownixd address: unix:PATH, /PATH or HOST:PORT (default: $CLOWNIX_SERVER, else "
          "unix:$CLOWNIX_WORK_DIR/clownixd.sock, else unix:/tmp/clownix/clownixd.sock)");
ABSL_FLAG(std::string, ca, "",
          "TLS: the CA that signed clownixd's certificate (default: $CLOWNIX_CA); a HOST:PORT "
          "server is reached over TLS when --ca or --cert is set");
ABSL_FLAG(std::string, cert, "", "TLS: client certificate, PEM (default: $CLOWNIX_CERT)");
ABSL_FLAG(std::string, key, "", "TLS: the client certificate's key, PEM (default: $CLOWNIX_KEY)");
ABSL_FLAG(std::string, token, "",
          "API token for clownix-web's own watch and counters only (default: $CLOWNIX_TOKEN); "
          "pages act with the token they give");
ABSL_FLAG(std::string, token_file, "",
          "File whose first line is that token (default: $CLOWNIX_TOKEN_FILE)");
ABSL_FLAG(std::string, node_modules, "/var/cache/clownix/web/node_modules",
          "Where tools/setup.sh installed the pinned npm packages (xterm.js)");

namespace {

constexpr char kUsage[] =
    "serves the clownix topology, live, and VM consoles to browsers (see docs/web.md).\n"
    "  clownix-web [--listen 127.0.0.1:8420] [--server ADDR]";

int Fail(const absl::Status& status) {
  std::cerr << "clownix-web: " << status.message() << " ("
            << absl::StatusCodeToString(status.code()) << ")" << std::endl;
  return 1;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const std::string& target, const clownix::clients::ChannelSecurity& security) {
  auto credentials = clownix::clients::MakeChannelCredentials(target, security);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  // Back on a restarted clownixd within a second, not gRPC's default of up to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(target, *credentials, args);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::cerr << "clownix-web: unexpected argument \"" << positional[1] << "\" (see --help)"
              << std::endl;
    return 2;
  }
  absl::StatusOr<std::string> target = clownix::clients::ServerTarget(
      absl::GetFlag(FLAGS_server), std::getenv("CLOWNIX_SERVER"), std::getenv("CLOWNIX_WORK_DIR"));
  if (!target.ok()) return Fail(target.status());
  clownix::clients::ChannelSecurity security = clownix::clients::ChooseChannelSecurity(
      {absl::GetFlag(FLAGS_ca), absl::GetFlag(FLAGS_cert), absl::GetFlag(FLAGS_key),
       absl::GetFlag(FLAGS_token), absl::GetFlag(FLAGS_token_file)},
      [](const char* name) -> const char* { return std::getenv(name); });
  // The watch and counters use clownix-web's own credentials; the pages' calls go over a channel
  // with the same TLS but no token of clownix-web's, carrying only the page's (never widened).
  auto watch_channel = MakeChannel(*target, security);
  if (!watch_channel.ok()) return Fail(watch_channel.status());
  clownix::clients::ChannelSecurity page_security = security;
  page_security.token.clear();
  page_security.token_file.clear();
  auto page_channel = MakeChannel(*target, page_security);
  if (!page_channel.ok()) return Fail(page_channel.status());

  clownix::web::WatchHub hub(*watch_channel, clownix::web::WatchHub::Options());
  clownix::web::ApiHandler api(*page_channel);
  clownix::web::WebServer::Options options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.node_modules = absl::GetFlag(FLAGS_node_modules);
  auto server = clownix::web::WebServer::Create(options, &hub, &api);
  if (!server.ok()) return Fail(server.status());
  hub.Start();
  std::cout << "clownix-web: serving " << (*server)->url() << " (clownixd at " << *target << ")"
            << std::endl;
  (*server)->Run();
  hub.Stop();
  return 0;
}
