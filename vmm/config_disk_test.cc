#include "vmm/config_disk.h"

#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

std::string Debugfs(const std::string& image, const std::string& command) {
  std::string cmd = absl::StrCat("debugfs -R '", command, "' ", image, " 2>/dev/null");
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p.get())) > 0) out.append(buf, n);
  return out;
}

const char kKey[] = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 user@host\n";

TEST(ConfigDiskTest, BuildsAnImageHoldingEveryValue) {
  std::string image = absl::StrCat(getenv("TEST_TMPDIR"), "/cfg.img");
  ASSERT_TRUE(ConfigDisk::Build({"vm7", "10.0.0.7", kKey}, image).ok());
  EXPECT_EQ(Debugfs(image, "cat /name"), "vm7\n");
  EXPECT_EQ(Debugfs(image, "cat /admin_ip"), "10.0.0.7/16\n");
  EXPECT_EQ(Debugfs(image, "cat /authorized_keys"), kKey);
  EXPECT_EQ(Debugfs(image, "cat /config_cmd"), std::string(ConfigDisk::ConfigCmd()));
}

TEST(ConfigDiskTest, OnlyAScriptOrSetupThatCanFailHasAStartupReport) {
  common::GuestConfig guest;
  EXPECT_FALSE(ConfigDisk::HasStartupReport(guest));
  guest.shutdown = "echo bye";  // runs at a halt, not at boot
  EXPECT_FALSE(ConfigDisk::HasStartupReport(guest));
  common::GuestConfig with_sysctl = guest;
  with_sysctl.sysctls.emplace_back("net.ipv4.ip_forward", "1");
  EXPECT_TRUE(ConfigDisk::HasStartupReport(with_sysctl));
  common::GuestConfig with_startup = guest;
  with_startup.startup = "true";
  EXPECT_TRUE(ConfigDisk::HasStartupReport(with_startup));
}

TEST(ConfigDiskTest, AVmWithoutTheAdminNetworkHasAnEmptyAdminIp) {
  std::string image = absl::StrCat(getenv("TEST_TMPDIR"), "/noadmin.img");
  ASSERT_TRUE(ConfigDisk::Build({"vm8", "", kKey}, image).ok());
  EXPECT_EQ(Debugfs(image, "cat /admin_ip"), "\n");  // config_cmd configures no eth0 then
}

TEST(ConfigDiskTest, RejectsHostileValuesAndLeavesNothing) {
  std::string image = absl::StrCat(getenv("TEST_TMPDIR"), "/bad.img");
  struct Case {
    ConfigDisk::Contents contents;
  } cases[] = {
      {{"vm;reboot", "10.0.0.1", ""}},
      {{"$(id)", "10.0.0.1", ""}},
      {{"vm1", "10.0.0.1; reboot", ""}},
      {{"vm1", "10.0.0.300", ""}},
      {{"vm1", "10.0.0.1", "not a key\n"}},
      {{"vm1", "10.0.0.1", "ssh-rsa !!notbase64!!\n"}},
      {{"vm1", "10.0.0.1", "ssh-rsa AAAA\x01 x\n"}},
  };
  for (const Case& c : cases) {
    absl::Status s = ConfigDisk::Build(c.contents, image);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.contents.name;
    struct stat st;
    EXPECT_NE(stat(image.c_str(), &st), 0);
  }
}

TEST(ConfigDiskTest, CarriesTheGuestConfigInTheLayoutConfigCmdReads) {
  std::string image = absl::StrCat(getenv("TEST_TMPDIR"), "/guest.img");
  ConfigDisk::Contents contents{"r1", "10.0.0.7", kKey};
  contents.guest.files = {{"/etc/frr/frr.conf", "router ospf\n", 0640},
                          {"/usr/local/bin/go fast", "#!/bin/sh\n", 04755}};
  contents.guest.sysctls = {{"net.ipv4.ip_forward", "1"}, {"kernel.printk", "4 4 1 7"}};
  contents.guest.addresses = {{1, "10.0.1.1/24"}, {1, "fd00:1::1/64"}};
  contents.guest.startup = "echo hi\n";
  contents.guest.shutdown = "echo bye\n";
  contents.nic_count = 2;
  ASSERT_TRUE(ConfigDisk::Build(contents, image).ok());
  EXPECT_EQ(Debugfs(image, "cat /files/manifest"),
            "0640 0 /etc/frr/frr.conf\n4755 1 /usr/local/bin/go fast\n");
  EXPECT_EQ(Debugfs(image, "cat /files/0"), "router ospf\n");
  EXPECT_EQ(Debugfs(image, "cat /files/1"), "#!/bin/sh\n");
  EXPECT_EQ(Debugfs(image, "cat /sysctls"), "net.ipv4.ip_forward=1\nkernel.printk=4 4 1 7\n");
  EXPECT_EQ(Debugfs(image, "cat /addresses"), "1 10.0.1.1/24\n1 fd00:1::1/64\n");
  EXPECT_EQ(Debugfs(image, "cat /startup"), "echo hi\n");
  EXPECT_NE(Debugfs(image, "cat /startup_run").find("clownix-startup"), std::string::npos);
  EXPECT_EQ(Debugfs(image, "cat /shutdown"), "echo bye\n");
  EXPECT_EQ(Debugfs(image, "cat /halt_run"), ConfigDisk::HaltRun());
}

// startup_run runs at every boot: under busybox's ash its own commands are applets (a fork each),
// not the image's tools (a fork and an exec each under dash), which both images allow.
TEST(ConfigDiskTest, StartupRunRunsUnderBusyboxAsh) {
  EXPECT_EQ(ConfigDisk::StartupRunArgv(),
            (std::vector<std::string>{"/bin/busybox", "ash", "/run/clownix-config/startup_run"}));
}

TEST(ConfigDiskTest, TheHaltCommandBoundsTheShutdownScriptAndFallsBackToPoweroff) {
  EXPECT_EQ(ConfigDisk::HaltCommand(absl::Seconds(5.5)),
            "if [ -e /run/clownix-config/halt_run ]; then exec /bin/sh "
            "/run/clownix-config/halt_run 5; fi; exec poweroff");
  EXPECT_NE(ConfigDisk::HaltCommand(absl::Seconds(-1)).find("halt_run 1;"), std::string::npos);
}

TEST(ConfigDiskTest, TheLargestGuestConfigFits) {
  std::string image = absl::StrCat(getenv("TEST_TMPDIR"), "/big.img");
  ConfigDisk::Contents contents{"r2", "10.0.0.8", kKey};
  const size_t each = common::kMaxGuestConfigBytes / common::kMaxGuestFiles;
  for (size_t i = 0; i < common::kMaxGuestFiles; ++i) {
    contents.guest.files.push_back({absl::StrCat("/etc/f", i), std::string(each, 'x'), 0644});
  }
  ASSERT_TRUE(ConfigDisk::Build(contents, image).ok());
  EXPECT_EQ(Debugfs(image, "cat /files/255"), std::string(each, 'x'));
}

TEST(ConfigDiskTest, RejectsABadGuestConfigNamingTheField) {
  std::string image = absl::StrCat(getenv("TEST_TMPDIR"), "/badguest.img");
  ConfigDisk::Contents contents{"r3", "10.0.0.9", kKey};
  contents.guest.files = {{"/proc/sys/net/ipv4/ip_forward", "1", 0644}};
  absl::Status s = ConfigDisk::Build(contents, image);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("guest config: files[0].path"), std::string::npos) << s;
  struct stat st;
  EXPECT_NE(stat(image.c_str(), &st), 0);
}

TEST(ConfigDiskTest, ReadsTheStartupReport) {
  absl::StatusOr<ConfigDisk::StartupReport> report =
      ConfigDisk::ParseStartupReport("clownix-startup 3 failed\nclownix setup: sysctl x\nout\n");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->exit_code, 3);
  EXPECT_FALSE(report->setup_ok);
  EXPECT_EQ(report->output, "clownix setup: sysctl x\nout\n");
  report = ConfigDisk::ParseStartupReport("clownix-startup 0 ok");
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->setup_ok);
  EXPECT_EQ(report->output, "");
  for (const char* bad : {"", "sh: startup_run: not found\n", "clownix-startup x ok\n",
                          "clownix-startup 0 maybe\n"}) {
    EXPECT_EQ(ConfigDisk::ParseStartupReport(bad).status().code(), absl::StatusCode::kInternal)
        << bad;
  }
}

TEST(ConfigDiskTest, UnwritableDirectoryIsAnErrorWithNothingLeft) {
  absl::Status s = ConfigDisk::Build({"vm1", "10.0.0.1", ""}, "/proc/clownix/cfg.img");
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace clownix::vmm
