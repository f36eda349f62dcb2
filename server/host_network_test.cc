#include "server/host_network.h"

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

// Records each command; fails those that start with `fail_prefix`.
struct FakeRunner {
  std::vector<std::string> commands;
  std::string fail_prefix = "<none>";
  HostNetwork::Runner runner() {
    return [this](const std::vector<std::string>& argv) {
      std::string command = absl::StrJoin(argv, " ");
      commands.push_back(command);
      if (command.rfind(fail_prefix, 0) == 0) return absl::UnavailableError("`" + command + "`");
      return absl::OkStatus();
    };
  }
};

TEST(HostNetwork, InTheHostsNamespace) {
  FakeRunner fake;
  HostNetwork network(fake.runner());
  ASSERT_TRUE(network.ConfigureAdminTap({"clownix0", "10.0.0.1", ""}).ok());
  EXPECT_EQ(fake.commands, (std::vector<std::string>{
                               "ip addr del 10.0.0.1/16 dev clownix0",
                               "ip addr add 10.0.0.1/16 dev clownix0",
                               "ip link set clownix0 up",
                           }));
}

TEST(HostNetwork, InANamedNamespace) {
  FakeRunner fake;
  HostNetwork network(fake.runner());
  ASSERT_TRUE(network.ConfigureAdminTap({"clownix0", "10.0.0.1", "lab"}).ok());
  EXPECT_EQ(fake.commands, (std::vector<std::string>{
                               "ip link set clownix0 netns lab",
                               "ip -n lab addr del 10.0.0.1/16 dev clownix0",
                               "ip -n lab addr add 10.0.0.1/16 dev clownix0",
                               "ip -n lab link set clownix0 up",
                           }));
}

TEST(HostNetwork, InTheNamespaceOfAPid) {
  FakeRunner fake;
  HostNetwork network(fake.runner());
  ASSERT_TRUE(network.ConfigureAdminTap({"clownix0", "10.1.0.1", "4242"}).ok());
  EXPECT_EQ(fake.commands, (std::vector<std::string>{
                               "ip link set clownix0 netns 4242",
                               "nsenter -t 4242 -n ip addr del 10.1.0.1/16 dev clownix0",
                               "nsenter -t 4242 -n ip addr add 10.1.0.1/16 dev clownix0",
                               "nsenter -t 4242 -n ip link set clownix0 up",
                           }));
}

TEST(HostNetwork, NoOldAddressIsFine) {
  FakeRunner fake;
  fake.fail_prefix = "ip addr del";
  EXPECT_TRUE(HostNetwork(fake.runner()).ConfigureAdminTap({"clownix0", "10.0.0.1", ""}).ok());
  EXPECT_EQ(fake.commands.size(), 3u);
}

TEST(HostNetwork, TheFirstFailureIsTheResultAndNothingFollowsIt) {
  FakeRunner fake;
  fake.fail_prefix = "ip link set clownix0 netns";
  absl::Status status =
      HostNetwork(fake.runner()).ConfigureAdminTap({"clownix0", "10.0.0.1", "lab"});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fake.commands.size(), 1u);

  FakeRunner add;
  add.fail_prefix = "ip addr add";
  status = HostNetwork(add.runner()).ConfigureAdminTap({"clownix0", "10.0.0.1", ""});
  EXPECT_NE(status.message().find("ip addr add 10.0.0.1/16 dev clownix0"), std::string::npos)
      << status;
  EXPECT_EQ(add.commands.size(), 2u);
}

TEST(HostNetwork, RunsRealCommandsByDefault) {
  // A tap that does not exist: `ip` fails (or is not even on the test's PATH).
  EXPECT_FALSE(HostNetwork().ConfigureAdminTap({"clownix-no-such", "10.0.0.1", ""}).ok());
}

}  // namespace
}  // namespace clownix::server
