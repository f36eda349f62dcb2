#include "vmm/config_disk.h"

#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>

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
  EXPECT_EQ(Debugfs(image, "cat /admin_ip"), "10.0.0.7\n");
  EXPECT_EQ(Debugfs(image, "cat /authorized_keys"), kKey);
  EXPECT_EQ(Debugfs(image, "cat /config_cmd"), std::string(ConfigDisk::ConfigCmd()));
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

TEST(ConfigDiskTest, UnwritableDirectoryIsAnErrorWithNothingLeft) {
  absl::Status s = ConfigDisk::Build({"vm1", "10.0.0.1", ""}, "/proc/clownix/cfg.img");
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace clownix::vmm
