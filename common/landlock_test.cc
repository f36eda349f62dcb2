#include "common/landlock.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "gtest/gtest.h"

namespace clownix::common {
namespace {

using Access = LandlockRuleset::Access;

class LandlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<int> abi = LandlockRuleset::KernelAbi();
    if (!abi.ok()) GTEST_SKIP() << abi.status();
    char dir_template[] = "/tmp/landlock_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    ASSERT_EQ(system(absl::StrCat("mkdir ", dir_, "/allowed ", dir_, "/denied && echo yes > ", dir_,
                                  "/allowed/f && echo no > ", dir_, "/denied/f")
                         .c_str()),
              0);
  }
  void TearDown() override {
    if (!dir_.empty()) system(absl::StrCat("rm -rf ", dir_).c_str());
  }

  // A ruleset under which the shell runs: the system's programs and libraries readable and
  // executable, nothing else yet.
  LandlockRuleset ShellRuleset() {
    absl::StatusOr<LandlockRuleset> ruleset = LandlockRuleset::Create();
    EXPECT_TRUE(ruleset.ok()) << ruleset.status();
    for (const char* system_dir : {"/usr", "/lib", "/lib64", "/bin"}) {
      if (access(system_dir, F_OK) != 0) continue;
      EXPECT_TRUE(
          ruleset
              ->Allow(system_dir, LandlockRuleset::Rights(
                                      {Access::kReadFile, Access::kReadDir, Access::kExecute}))
              .ok());
    }
    return std::move(*ruleset);
  }

  absl::StatusOr<RunResult> RunConfined(const LandlockRuleset& ruleset, const std::string& script) {
    SpawnOptions options;
    options.argv = {"/bin/bash", "-c", script};
    options.landlock_ruleset_fd = ruleset.fd();
    return common::Run(options);
  }

  std::string dir_;
};

TEST_F(LandlockTest, OnlyWhatARuleAllowsIsReachable) {
  LandlockRuleset ruleset = ShellRuleset();
  ASSERT_TRUE(ruleset.Allow(dir_ + "/allowed", LandlockRuleset::Rights({Access::kReadFile})).ok());
  absl::StatusOr<RunResult> read = RunConfined(ruleset, absl::StrCat("cat ", dir_, "/allowed/f"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->succeeded()) << read->output;
  EXPECT_EQ(read->output, "yes\n");

  // Neither the other directory, nor a way round through "..", nor writing where only reading
  // was allowed, nor the host's own files.
  for (const std::string& script :
       {absl::StrCat("cat ", dir_, "/denied/f"), absl::StrCat("cat ", dir_, "/allowed/../denied/f"),
        absl::StrCat("echo x > ", dir_, "/allowed/f"), std::string("cat /etc/passwd")}) {
    absl::StatusOr<RunResult> denied = RunConfined(ruleset, script);
    ASSERT_TRUE(denied.ok()) << denied.status();
    EXPECT_FALSE(denied->succeeded()) << script << ": " << denied->output;
    EXPECT_NE(denied->output.find("Permission denied"), std::string::npos)
        << script << ": " << denied->output;
  }
}

TEST_F(LandlockTest, ARuleOnAFileKeepsOnlyFileRights) {
  LandlockRuleset ruleset = ShellRuleset();
  ASSERT_TRUE(
      ruleset
          .Allow(dir_ + "/allowed/f",
                 LandlockRuleset::Rights({Access::kReadFile, Access::kMakeReg, Access::kReadDir}))
          .ok());
  absl::StatusOr<RunResult> read = RunConfined(ruleset, absl::StrCat("cat ", dir_, "/allowed/f"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->succeeded()) << read->output;
  absl::StatusOr<RunResult> list = RunConfined(ruleset, absl::StrCat("ls ", dir_, "/allowed"));
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_FALSE(list->succeeded()) << list->output;
}

TEST_F(LandlockTest, TcpConnectIsRefusedFromAbi4) {
  if (LandlockRuleset::KernelAbi().value_or(0) < 4) GTEST_SKIP() << "landlock ABI < 4: no TCP";
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string connect =
      absl::StrCat("exec 3<>/dev/tcp/127.0.0.1/", ntohs(address.sin_port), " && echo connected");

  SpawnOptions free;
  free.argv = {"/bin/bash", "-c", connect};
  absl::StatusOr<RunResult> unconfined = common::Run(free);
  ASSERT_TRUE(unconfined.ok()) << unconfined.status();
  EXPECT_EQ(unconfined->output, "connected\n");

  LandlockRuleset ruleset = ShellRuleset();
  absl::StatusOr<RunResult> confined = RunConfined(ruleset, connect);
  ASSERT_TRUE(confined.ok()) << confined.status();
  EXPECT_FALSE(confined->succeeded()) << confined->output;
  EXPECT_NE(confined->output.find("Permission denied"), std::string::npos) << confined->output;
  close(listener);
}

// Needs root outside a user namespace: the BUILD rule runs it unsandboxed (bazel's sandbox maps
// root alone).
TEST(SpawnConfinementTest, RunsAsTheUserWithoutCapabilitiesOrNewPrivileges) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change user";
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c",
                  "grep -E '^(Uid|Gid|Groups|CapPrm|CapEff|CapAmb|NoNewPrivs):' /proc/self/status;"
                  " umask; cat /proc/self/oom_score_adj"};
  options.run_as = SpawnOptions::Credentials{2100000042, 2100000042};
  options.no_new_privs = true;
  options.umask = 077;
  options.oom_score_adj = 900;
  absl::StatusOr<RunResult> result = common::Run(options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->succeeded()) << result->output;
  const std::string& out = result->output;
  EXPECT_NE(out.find("Uid:\t2100000042\t2100000042\t2100000042\t2100000042"), std::string::npos)
      << out;
  EXPECT_NE(out.find("Gid:\t2100000042\t2100000042\t2100000042\t2100000042"), std::string::npos)
      << out;
  // No supplementary groups: the line holds nothing but blanks.
  const size_t groups = out.find("Groups:");
  ASSERT_NE(groups, std::string::npos) << out;
  EXPECT_EQ(absl::StripAsciiWhitespace(out.substr(groups + 7, out.find('\n', groups) - groups - 7)),
            "")
      << out;
  EXPECT_NE(out.find("CapPrm:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("CapEff:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("CapAmb:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("NoNewPrivs:\t1"), std::string::npos) << out;
  EXPECT_NE(out.find("\n0077\n900\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace clownix::common
