// ClownixdProcess: the real clownixd binary as a child process, for whole-system tests.
//
// Starts `server/clownixd` from the test's runfiles on a fresh work dir, waits until its socket
// answers, and kills it (SIGTERM or SIGKILL) by the pid it started. The work dir is removed when
// the object dies unless kept for a restart.
#ifndef CLOWNIX_INTEGRATION_TESTS_SERVER_CLOWNIXD_PROCESS_H_
#define CLOWNIX_INTEGRATION_TESTS_SERVER_CLOWNIXD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace clownix::testing {

class ClownixdProcess {
 public:
  // A new, empty work dir under /tmp (short enough for a socket path).
  static std::string MakeWorkDir();

  // Starts clownixd on `work_dir` with `extra_args` and waits up to 20 s for its socket.
  static absl::StatusOr<std::unique_ptr<ClownixdProcess>> Start(
      const std::string& work_dir, const std::vector<std::string>& extra_args = {});
  ~ClownixdProcess();

  // Runs clownixd with `args` to its end (at most 20 s); returns the waitpid status and puts what
  // it wrote to stdout and stderr into `output` (-1 and the error there if it could not run or
  // was killed at 20 s).
  static int RunToExit(const std::vector<std::string>& args, std::string* output);

  std::shared_ptr<grpc::Channel> NewChannel() const;
  std::string address() const { return "unix:" + work_dir_ + "/clownixd.sock"; }
  pid_t pid() const { return pid_; }

  // SIGKILL and reap: what a crash does. The work dir stays.
  void Kill();
  // SIGTERM and reap; returns the exit status as waitpid gives it.
  int Terminate();

 private:
  ClownixdProcess(std::string work_dir, pid_t pid) : work_dir_(std::move(work_dir)), pid_(pid) {}

  std::string work_dir_;
  pid_t pid_;
};

}  // namespace clownix::testing

#endif  // CLOWNIX_INTEGRATION_TESTS_SERVER_CLOWNIXD_PROCESS_H_
