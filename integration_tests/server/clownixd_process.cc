#include "integration_tests/server/clownixd_process.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"

namespace clownix::testing {
namespace {

std::string ClownixdPath() {
  // Tests run in their runfiles tree; `bazel run` and plain runs fall back to the env.
  if (const char* env = getenv("CLOWNIXD")) return env;
  if (const char* srcdir = getenv("TEST_SRCDIR")) {
    return absl::StrCat(srcdir, "/clownix/server/clownixd");
  }
  return "server/clownixd";
}

}  // namespace

std::string ClownixdProcess::MakeWorkDir() {
  char dir[] = "/tmp/clownix-it.XXXXXX";
  if (!mkdtemp(dir)) abort();
  return dir;
}

absl::StatusOr<std::unique_ptr<ClownixdProcess>> ClownixdProcess::Start(
    const std::string& work_dir, const std::vector<std::string>& extra_args) {
  std::string binary = ClownixdPath();
  std::vector<std::string> args = {binary, "--work_dir", work_dir};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  common::SpawnOptions spawn;
  spawn.argv = args;
  absl::StatusOr<common::SpawnedChild> child = common::Spawn(spawn);
  if (!child.ok()) return child.status();
  pid_t pid = child->pid;
  std::unique_ptr<ClownixdProcess> process(new ClownixdProcess(work_dir, pid));
  auto channel = process->NewChannel();
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(20);
  if (!channel->WaitForConnected(deadline)) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    return absl::UnavailableError(
        absl::StrCat("clownixd (", binary, ") did not answer on ", process->address(),
                     done == pid ? absl::StrCat("; it ", common::DescribeWaitStatus(status)) : ""));
  }
  return process;
}

int ClownixdProcess::RunToExit(const std::vector<std::string>& args, std::string* output) {
  common::SpawnOptions spawn;
  spawn.argv = {ClownixdPath()};
  spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
  // A wedged clownixd must not hang the test.
  absl::StatusOr<common::RunResult> result = common::Run(spawn, 1 << 20, absl::Seconds(20));
  if (!result.ok()) {
    *output = result.status().ToString();
    return -1;
  }
  *output = result->output;
  return result->wait_status;
}

ClownixdProcess::~ClownixdProcess() {
  if (pid_ > 0) Kill();
  std::string cmd = absl::StrCat("rm -rf '", work_dir_, "'");
  if (system(cmd.c_str()) != 0) fprintf(stderr, "could not remove %s\n", work_dir_.c_str());
}

std::shared_ptr<grpc::Channel> ClownixdProcess::NewChannel() const {
  grpc::ChannelArguments args;
  // Separate connections, as separate clients would have.
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
}

void ClownixdProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int ClownixdProcess::Terminate() {
  int status = -1;
  if (pid_ <= 0) return status;
  kill(pid_, SIGTERM);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

}  // namespace clownix::testing
