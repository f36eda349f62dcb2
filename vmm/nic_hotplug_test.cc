// NicHotplug against a stand-in mconsole (a datagram socket answering like UML) and a scripted
// guest.
#include "vmm/nic_hotplug.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "vmm/mconsole_wire.h"

namespace clownix::vmm {
namespace {

int BoundSocket(const std::string& path, int type) {
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) abort();
  return fd;
}

// Answers each request with `error` (0: OK) and records its command.
class FakeMconsole {
 public:
  explicit FakeMconsole(const std::string& path)
      : fd_(BoundSocket(path, SOCK_DGRAM)), thread_([this] { Serve(); }) {}
  ~FakeMconsole() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  std::vector<std::string> commands() {
    absl::MutexLock lock(&mu_);
    return commands_;
  }
  void FailWith(const std::string& text) {
    absl::MutexLock lock(&mu_);
    error_ = text;
  }

 private:
  void Serve() {
    for (;;) {
      mconsole_wire::Request request;
      sockaddr_un from = {};
      socklen_t from_len = sizeof(from);
      ssize_t n = recvfrom(fd_, &request, sizeof(request), 0, reinterpret_cast<sockaddr*>(&from),
                           &from_len);
      if (n <= 0) return;
      std::string error;
      {
        absl::MutexLock lock(&mu_);
        commands_.emplace_back(request.data, request.len);
        error = error_;
      }
      mconsole_wire::Reply reply = {};
      reply.err = error.empty() ? 0 : 1;
      reply.len = error.size() + 1;
      memcpy(reply.data, error.c_str(), error.size() + 1);
      sendto(fd_, &reply, 12 + reply.len, 0, reinterpret_cast<sockaddr*>(&from), from_len);
    }
  }

  const int fd_;
  absl::Mutex mu_;
  std::vector<std::string> commands_ ABSL_GUARDED_BY(mu_);
  std::string error_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// A guest whose commands exit with the scripted codes, in order.
struct ScriptedGuest {
  std::deque<int> exit_codes;
  std::vector<std::string> commands;
  NicHotplug::RunInGuest Run() {
    return [this](const std::string& command) -> absl::StatusOr<ExecResult> {
      commands.push_back(command);
      if (exit_codes.empty()) return absl::UnavailableError("no more answers");
      ExecResult result;
      result.exit_code = exit_codes.front();
      exit_codes.pop_front();
      return result;
    };
  }
};

class NicHotplugTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nichp.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    mconsole_path_ = dir_ + "/mconsole";
    ctl_ = dir_ + "/ctl";
    ctl_fd_ = BoundSocket(ctl_, SOCK_STREAM);
    mconsole_ = std::make_unique<FakeMconsole>(mconsole_path_);
  }
  void TearDown() override {
    mconsole_.reset();
    close(ctl_fd_);
    std::filesystem::remove_all(dir_);
  }

  std::string dir_, mconsole_path_, ctl_;
  int ctl_fd_ = -1;
  std::unique_ptr<FakeMconsole> mconsole_;
};

TEST_F(NicHotplugTest, PlugsAndChecksTheInterfaceAppeared) {
  ScriptedGuest guest{{1, 0}};
  absl::Status s =
      NicHotplug::Plug("vm7", "02:00:00:07:00:01", {1, ctl_}, mconsole_path_, guest.Run());
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(guest.commands, (std::vector<std::string>{"test -e /sys/class/net/eth1",
                                                      "test -e /sys/class/net/eth1"}));
  EXPECT_EQ(mconsole_->commands(), std::vector<std::string>{absl::StrCat(
                                       "config eth1=daemon,02:00:00:07:00:01,unix,", ctl_)});
}

TEST_F(NicHotplugTest, RefusesWhatCannotWork) {
  ScriptedGuest present{{0}};
  EXPECT_EQ(
      NicHotplug::Plug("vm7", "02:00:00:07:00:01", {1, ctl_}, mconsole_path_, present.Run()).code(),
      absl::StatusCode::kAlreadyExists);
  ScriptedGuest never_appears{{1, 1}};
  absl::Status stale =
      NicHotplug::Plug("vm7", "02:00:00:07:00:01", {2, ctl_}, mconsole_path_, never_appears.Run());
  EXPECT_EQ(stale.code(), absl::StatusCode::kUnavailable) << stale;
  ScriptedGuest unused;
  EXPECT_EQ(NicHotplug::Plug("vm7", "02:00:00:07:00:01", {3, dir_ + "/no-switch"}, mconsole_path_,
                             unused.Run())
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      NicHotplug::Plug("vm7", "02:00:00:07:00:01", {8, ctl_}, mconsole_path_, unused.Run()).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      NicHotplug::Plug("vm7", "02:00:00:07:00:01", {1, ctl_ + ",x"}, mconsole_path_, unused.Run())
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(unused.commands.empty());
  // Only the stale one reached UML.
  EXPECT_EQ(mconsole_->commands().size(), 1u);
}

TEST_F(NicHotplugTest, UnplugTakesTheInterfaceDownFirst) {
  ScriptedGuest guest{{0}};
  ASSERT_TRUE(NicHotplug::Unplug("vm7", 2, mconsole_path_, guest.Run()).ok());
  EXPECT_EQ(guest.commands,
            std::vector<std::string>{"test -e /sys/class/net/eth2 && ip link set eth2 down"});
  EXPECT_EQ(mconsole_->commands(), std::vector<std::string>{"remove eth2"});
  ScriptedGuest absent{{1}};
  EXPECT_EQ(NicHotplug::Unplug("vm7", 3, mconsole_path_, absent.Run()).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(NicHotplug::Unplug("vm7", -1, mconsole_path_, absent.Run()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(NicHotplugTest, UmlRefusalsPassThrough) {
  mconsole_->FailWith("device busy");
  absl::Status s = NicHotplug::Remove(4, mconsole_path_);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(NicHotplug::Remove(4, dir_ + "/nobody").code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace clownix::vmm
