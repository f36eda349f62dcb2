#include "switchcore/lan.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace clownix::switchcore {
namespace {

class LanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lantest.XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { ASSERT_EQ(system(("rm -rf '" + dir_ + "'").c_str()), 0); }
  std::string dir_;
};

TEST_F(LanTest, ListensAtWorkDirLansNameCtlAndCleansUp) {
  Lan::Limits limits;
  mode_t old_umask = umask(077);
  auto lan = Lan::Create(1, dir_, "blue", ctl::LanMode::kSwitch, limits);
  umask(old_umask);
  ASSERT_TRUE(lan.ok()) << lan.status();
  std::string path = dir_ + "/lans/blue/ctl";
  EXPECT_EQ((*lan)->ctl_path(), path);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  // VMs run as other uids: the socket is connectable by them, the directories only searchable,
  // whatever the umask.
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  for (const std::string& dir : {dir_ + "/lans", dir_ + "/lans/blue"}) {
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0711u) << dir;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  lan->reset();
  EXPECT_NE(stat(path.c_str(), &st), 0);
}

TEST_F(LanTest, ReplacesAStaleSocket) {
  Lan::Limits limits;
  { auto first = Lan::Create(1, dir_, "blue", ctl::LanMode::kSwitch, limits); }
  // A crashed switch leaves its socket behind: simulate with a plain file.
  mkdir((dir_ + "/lans/blue").c_str(), 0755);
  close(creat((dir_ + "/lans/blue/ctl").c_str(), 0644));
  auto lan = Lan::Create(2, dir_, "blue", ctl::LanMode::kHub, limits);
  EXPECT_TRUE(lan.ok()) << lan.status();
}

TEST_F(LanTest, RejectsBadNamesAndModes) {
  Lan::Limits limits;
  for (const char* name : {"", ".", "..", "a/b", "a b", "0123456789012345678901234567890123"}) {
    EXPECT_EQ(Lan::Create(1, dir_, name, ctl::LanMode::kSwitch, limits).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
  EXPECT_FALSE(Lan::Create(1, dir_, "x", static_cast<ctl::LanMode>(7), limits).ok());
  std::string deep = dir_ + "/" + std::string(100, 'd');
  EXPECT_EQ(Lan::Create(1, deep, "x", ctl::LanMode::kSwitch, limits).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(LanTest, PortTableIsBounded) {
  Lan::Limits limits;
  limits.max_ports = 3;
  auto lan = Lan::Create(1, dir_, "blue", ctl::LanMode::kSwitch, limits);
  ASSERT_TRUE(lan.ok());
  Port* fake[4] = {reinterpret_cast<Port*>(0x10), reinterpret_cast<Port*>(0x20),
                   reinterpret_cast<Port*>(0x30), reinterpret_cast<Port*>(0x40)};
  EXPECT_EQ((*lan)->AddPort(fake[0]), 0);
  EXPECT_EQ((*lan)->AddPort(fake[1]), 1);
  EXPECT_EQ((*lan)->AddPort(fake[2]), 2);
  EXPECT_EQ((*lan)->AddPort(fake[3]), -1);
  (*lan)->RemovePort(1);
  EXPECT_EQ((*lan)->port_count(), 2);
  EXPECT_EQ((*lan)->AddPort(fake[3]), 1);
  EXPECT_EQ((*lan)->port(1), fake[3]);
}

}  // namespace
}  // namespace clownix::switchcore
