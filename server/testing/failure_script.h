// FailureScript: what a fake backend answers, call by call. A test scripts "the next N calls of
// operation OP on NAME fail with STATUS"; the fake asks Take() at each call and counts it. Not
// thread-safe: the fake that owns one guards it with its own lock.
#ifndef CLOWNIX_SERVER_TESTING_FAILURE_SCRIPT_H_
#define CLOWNIX_SERVER_TESTING_FAILURE_SCRIPT_H_

#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"

namespace clownix::server::testing {

class FailureScript {
 public:
  // The next `times` calls of `op` on `name` fail with `status` (times < 0: every call; 0: none,
  // ending an earlier script).
  void Set(const std::string& op, const std::string& name, absl::Status status, int times) {
    if (times == 0) {
      failures_.erase({op, name});
      return;
    }
    failures_[{op, name}] = Failure{std::move(status), times};
  }

  // Counts a call of `op` on `name` and says how it ends.
  absl::Status Take(const std::string& op, const std::string& name) {
    ++calls_[{op, name}];
    auto it = failures_.find({op, name});
    if (it == failures_.end()) return absl::OkStatus();
    absl::Status status = it->second.status;
    if (it->second.times > 0 && --it->second.times == 0) failures_.erase(it);
    return status;
  }

  // How many calls of `op` on `name` were taken.
  int Calls(const std::string& op, const std::string& name) const {
    auto it = calls_.find({op, name});
    return it == calls_.end() ? 0 : it->second;
  }

 private:
  struct Failure {
    absl::Status status;
    int times;
  };
  std::map<std::pair<std::string, std::string>, Failure> failures_;
  std::map<std::pair<std::string, std::string>, int> calls_;
};

}  // namespace clownix::server::testing

#endif  // CLOWNIX_SERVER_TESTING_FAILURE_SCRIPT_H_
