// clownix-graph: draws the clownix topology with Graphviz, once or following every change.
// See docs/graph.md. This file only parses flags and wires the libraries together.
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "clients/common/channel_security.h"
#include "clients/common/server_address.h"
#include "clients/graph/dot_renderer.h"
#include "clients/graph/follower.h"
#include "clients/graph/render_once.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, server, "",
          "clownixd address: unix:PATH, /PATH or HOST:PORT (default: $CLOWNIX_SERVER, else "
          "unix:$CLOWNIX_WORK_DIR/clownixd.sock, else unix:/tmp/clownix/clownixd.sock)");
ABSL_FLAG(std::string, ca, "",
          "TLS: the CA that signed clownixd's certificate (default: $CLOWNIX_CA); a HOST:PORT "
          "server is reached over TLS when --ca or --cert is set");
ABSL_FLAG(std::string, cert, "", "TLS: client certificate, PEM (default: $CLOWNIX_CERT)");
ABSL_FLAG(std::string, key, "", "TLS: the client certificate's key, PEM (default: $CLOWNIX_KEY)");
ABSL_FLAG(std::string, token, "",
          "API token, sent as \"authorization: Bearer TOKEN\" (default: $CLOWNIX_TOKEN)");
ABSL_FLAG(std::string, token_file, "",
          "File whose first line is the API token (default: $CLOWNIX_TOKEN_FILE)");
ABSL_FLAG(std::string, out, ".", "Directory for topology.dot and topology.<format>");
ABSL_FLAG(bool, follow, false, "Keep following the topology and re-render on every change");
ABSL_FLAG(std::string, formats, "svg", "Comma-separated dot output formats: svg, png, pdf, ...");
ABSL_FLAG(std::string, selector, "", "Label selector: draw only matching objects");
ABSL_FLAG(absl::Duration, debounce, absl::Milliseconds(200),
          "--follow: minimum time between two renders");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "Bound on the topology call (once mode)");
ABSL_FLAG(std::string, dot, "dot", "Graphviz dot program: a path or a name in $PATH");
ABSL_FLAG(absl::Duration, dot_timeout, absl::Seconds(30), "Bound on one dot run");
ABSL_FLAG(std::string, title, "clownix", "Title of the picture");

namespace {

constexpr char kUsage[] =
    "draws the clownix topology with Graphviz (see docs/graph.md).\n"
    "  clownix-graph [--server ADDR] [--out DIR] [--formats svg,png]   once, then exit\n"
    "  clownix-graph --follow [--out DIR] ...   re-render on every change until Ctrl-C";

int Fail(const absl::Status& status) {
  std::cerr << "clownix-graph: " << status.message() << " ("
            << absl::StatusCodeToString(status.code()) << ")" << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::cerr << "clownix-graph: unexpected argument \"" << positional[1] << "\" (see --help)"
              << std::endl;
    return 2;
  }
  // --follow: SIGINT, SIGTERM and SIGHUP end the loop cleanly. They are blocked here, before
  // gRPC starts any thread, so every thread inherits the mask and one thread sigwaits for them.
  const bool follow = absl::GetFlag(FLAGS_follow);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  if (follow) pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string server = absl::GetFlag(FLAGS_server);
  absl::StatusOr<std::string> target =
      clownix::clients::ServerTarget(server, getenv("CLOWNIX_SERVER"), getenv("CLOWNIX_WORK_DIR"));
  if (!target.ok()) {
    std::cerr << "clownix-graph: " << target.status().message() << std::endl;
    return 2;
  }
  clownix::clients::ChannelSecurity security;
  security.ca_file = absl::GetFlag(FLAGS_ca);
  security.cert_file = absl::GetFlag(FLAGS_cert);
  security.key_file = absl::GetFlag(FLAGS_key);
  security.token = absl::GetFlag(FLAGS_token);
  security.token_file = absl::GetFlag(FLAGS_token_file);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      clownix::clients::MakeChannelCredentials(
          *target, clownix::clients::ChooseChannelSecurity(security, getenv));
  if (!credentials.ok()) {
    std::cerr << "clownix-graph: " << credentials.status().message() << std::endl;
    return 2;
  }
  clownix::graph::DotRenderer::Options render_options;
  render_options.out_dir = absl::GetFlag(FLAGS_out);
  render_options.formats = absl::StrSplit(absl::GetFlag(FLAGS_formats), ',', absl::SkipEmpty());
  render_options.dot = absl::GetFlag(FLAGS_dot);
  render_options.timeout = absl::GetFlag(FLAGS_dot_timeout);
  auto renderer = clownix::graph::DotRenderer::Create(render_options);
  if (!renderer.ok()) return Fail(renderer.status());

  grpc::ChannelArguments channel_args;
  // Reconnect quickly after a server restart (gRPC's default backoff grows to two minutes).
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  auto channel = grpc::CreateCustomChannel(*target, *credentials, channel_args);

  if (!follow) {
    clownix::graph::RenderOnceOptions options;
    options.server = *target;
    options.label_selector = absl::GetFlag(FLAGS_selector);
    options.timeout = absl::GetFlag(FLAGS_timeout);
    options.title = absl::GetFlag(FLAGS_title);
    options.zone = absl::LocalTimeZone();
    auto stub = clownix::v1::Topology::NewStub(channel);
    absl::StatusOr<uint64_t> revision = clownix::graph::RenderOnce(stub.get(), **renderer, options);
    if (!revision.ok()) return Fail(revision.status());
    std::cout << "revision " << *revision << " -> " << (*renderer)->MainPath() << std::endl;
    return 0;
  }

  clownix::graph::Follower::Options options;
  options.server = *target;
  options.label_selector = absl::GetFlag(FLAGS_selector);
  options.debounce = absl::GetFlag(FLAGS_debounce);
  options.title = absl::GetFlag(FLAGS_title);
  options.zone = absl::LocalTimeZone();
  options.log = &std::cerr;
  clownix::graph::Follower follower(channel, renderer->get(), options);
  std::thread([&follower, signals] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    follower.Stop();
  }).detach();
  absl::Status status = follower.Run();
  if (!status.ok()) return Fail(status);
  return 0;
}
