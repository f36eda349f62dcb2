#include "server/host_network.h"

#include "absl/strings/str_cat.h"
#include "common/seed_rules.h"
#include "common/subprocess.h"

namespace clownix::server {

HostNetwork::HostNetwork()
    : run_([](const std::vector<std::string>& argv) {
        common::SpawnOptions options;
        options.argv = argv;
        return common::RunChecked(std::move(options));
      }) {}

absl::Status HostNetwork::ConfigureAdminTap(const AdminTap& admin) const {
  std::vector<std::string> ip = {"ip"};
  if (!admin.netns.empty()) {
    if (absl::Status s = run_({"ip", "link", "set", admin.tap, "netns", admin.netns}); !s.ok()) {
      return s;
    }
    bool by_pid = admin.netns.find_first_not_of("0123456789") == std::string::npos;
    ip = by_pid ? std::vector<std::string>{"nsenter", "-t", admin.netns, "-n", "ip"}
                : std::vector<std::string>{"ip", "-n", admin.netns};
  }
  auto with = [&ip](std::vector<std::string> args) {
    std::vector<std::string> argv = ip;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  std::string address = absl::StrCat(admin.address, "/", common::kAdminPrefixLength);
  // Only an address left on the tap by an earlier run is deleted; when there is none this fails,
  // which is the normal case: ignoring it is safe because the `addr add` below reports any real
  // problem with the tap.
  (void)run_(with({"addr", "del", address, "dev", admin.tap}));
  if (absl::Status s = run_(with({"addr", "add", address, "dev", admin.tap})); !s.ok()) return s;
  return run_(with({"link", "set", admin.tap, "up"}));
}

}  // namespace clownix::server
