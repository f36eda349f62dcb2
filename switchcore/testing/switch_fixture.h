// SwitchFixture: a gtest fixture running the real clownix-switchcore binary through SwitchClient
// on a fresh work dir, with daemon-protocol endpoints standing where UML VMs would. A derived
// fixture may adjust `options_` in its constructor; SetUp starts the switch with them.
#ifndef CLOWNIX_SWITCHCORE_TESTING_SWITCH_FIXTURE_H_
#define CLOWNIX_SWITCHCORE_TESTING_SWITCH_FIXTURE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "switchcore/ctl/switch_client.h"
#include "switchcore/testing/daemon_endpoint.h"

namespace clownix::switchcore {

class SwitchFixture : public ::testing::Test {
 protected:
  static constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

  // The clownix-switchcore binary in the test's runfiles (a data dependency of the test).
  static std::string Binary();
  // A frame from MAC 02:00:00:00:00:`src` to `dst`, `len` bytes filled with `marker`.
  static std::vector<uint8_t> Frame(uint8_t src, const uint8_t* dst, size_t len,
                                    uint8_t marker = 0);
  // 02:00:00:00:00:`n`.
  static std::vector<uint8_t> MacOf(uint8_t n) { return {0x02, 0, 0, 0, 0, n}; }

  // Default options: the binary, a new work dir under /tmp (unix socket paths are limited to 107
  // bytes: Bazel's TEST_TMPDIR is too deep) made 0711 as clownixd makes its own, a 2 s request
  // timeout, port events recorded.
  SwitchFixture();
  void SetUp() override;
  void TearDown() override;

  // Joins `lan` with a new endpoint named Unique(name); nullptr (and a test failure) if refused.
  std::unique_ptr<DaemonEndpoint> Join(const std::string& lan, const std::string& name);
  // Abstract names are shared by everything in the network namespace, and Bazel's sandbox gives
  // concurrent tests the same pids: names are made unique with the work dir.
  std::string Unique(const std::string& name) const;
  // Waits for a port event matching `pred`.
  bool WaitEvent(std::function<bool(const SwitchClient::PortEvent&)> pred,
                 absl::Duration timeout = absl::Seconds(3));
  // Waits until the counters of `port` satisfy `pred`. Counters live in shared memory with no
  // notification, so this polls them until the deadline.
  bool WaitCounters(uint64_t port, std::function<bool(const SwitchClient::Counters&)> pred,
                    absl::Duration timeout = absl::Seconds(10));
  // The port id of an endpoint, once its port-up event arrived; 0 if none.
  uint64_t PortOf(const DaemonEndpoint& ep);

  SwitchClient::Options options_;
  std::unique_ptr<SwitchClient> client_;
  std::string work_dir_;
  absl::Mutex mu_;
  std::vector<SwitchClient::PortEvent> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_TESTING_SWITCH_FIXTURE_H_
