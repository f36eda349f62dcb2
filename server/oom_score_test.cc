#include "server/oom_score.h"

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(OomScoreTest, WritesTheValue) {
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/oom_score_adj";
  { std::ofstream(path) << "0\n"; }
  ASSERT_TRUE(SetOomScoreAdj(kServerOomScoreAdj, path).ok());
  EXPECT_EQ(Slurp(path), "-500\n");
}

TEST(OomScoreTest, AMissingFileIsAnErrorNamingIt) {
  absl::Status s = SetOomScoreAdj(-500, "/nonexistent/oom_score_adj");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent/oom_score_adj"), std::string::npos);
}

TEST(OomScoreTest, RaisingItsOwnNeedsNoPrivilege) {
  // Any process may raise its own value; a child is used so the test runner is left alone.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0)
    _exit(SetOomScoreAdj(100).ok() && Slurp("/proc/self/oom_score_adj") == "100\n" ? 0 : 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace clownix::server
