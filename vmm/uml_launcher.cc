#include "vmm/uml_launcher.h"

#include "absl/strings/match.h"
#include "common/subprocess.h"

extern char** environ;

namespace clownix::vmm {
namespace {

class SpawnLauncher final : public UmlLauncher {
 public:
  absl::StatusOr<Launched> Launch(const Request& request) override {
    common::SpawnOptions options;
    options.argv = request.argv;
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "LD_PRELOAD=")) env.emplace_back(*e);
    }
    if (!request.preload.empty()) env.push_back("LD_PRELOAD=" + request.preload);
    options.env = std::move(env);
    options.output = common::SpawnOptions::Output::kFile;
    options.output_path = request.log_path;
    options.fds = {{request.console_master, kConsoleMasterFd},
                   {request.console_slave, kConsoleSlaveFd},
                   {request.agent_master, kAgentMasterFd},
                   {request.agent_slave, kAgentSlaveFd}};
    absl::StatusOr<common::SpawnedChild> child = common::Spawn(options);
    if (!child.ok()) return child.status();
    Launched launched;
    launched.pid = child->pid;
    launched.pidfd = std::move(child->pidfd);
    return launched;
  }
};

}  // namespace

std::unique_ptr<UmlLauncher> UmlLauncher::Real() { return std::make_unique<SpawnLauncher>(); }

}  // namespace clownix::vmm
