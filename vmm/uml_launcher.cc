#include "vmm/uml_launcher.h"

#include <algorithm>

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
    if (!request.tmp_dir.empty()) {
      env.erase(std::remove_if(env.begin(), env.end(),
                               [](const std::string& e) { return absl::StartsWith(e, "TMPDIR="); }),
                env.end());
      env.push_back("TMPDIR=" + request.tmp_dir);
    }
    options.env = std::move(env);
    options.output = common::SpawnOptions::Output::kFile;
    options.output_path = request.log_path;
    options.fds = {{request.console_master, kConsoleMasterFd},
                   {request.console_slave, kConsoleSlaveFd},
                   {request.agent_master, kAgentMasterFd},
                   {request.agent_slave, kAgentSlaveFd}};
    // UML passes a new size of its console's pty on to the guest's console only when it is in
    // that pty's foreground process group: it then gets SIGWINCH itself (is_skas_winch in
    // arch/um/drivers/chan_user.c; with a process group of 0 it starts no helper either). So
    // the pty is its controlling terminal; UML's own setsid() then finds it leads a session.
    options.controlling_terminal = kConsoleSlaveFd;
    options.working_dir = request.working_dir;
    options.join_cgroup_fds = request.join_cgroup_fds;
    options.oom_score_adj = request.oom_score_adj;
    options.no_address_randomization = request.no_address_randomization;
    options.umask = 077;  // What UML makes (its uml_dir entry, COW file) is its user's alone.
    options.run_as = request.run_as;
    options.no_new_privs = true;
    options.landlock_ruleset_fd = request.landlock_ruleset_fd;
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
