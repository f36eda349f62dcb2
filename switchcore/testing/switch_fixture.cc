#include "switchcore/testing/switch_fixture.h"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace clownix::switchcore {

std::string SwitchFixture::Binary() {
  const char* srcdir = getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir, "/clownix/switchcore/clownix-switchcore");
}

std::vector<uint8_t> SwitchFixture::Frame(uint8_t src, const uint8_t* dst, size_t len,
                                          uint8_t marker) {
  std::vector<uint8_t> f(len, marker);
  std::memcpy(f.data(), dst, 6);
  uint8_t s[6] = {0x02, 0, 0, 0, 0, src};
  std::memcpy(f.data() + 6, s, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  return f;
}

SwitchFixture::SwitchFixture() {
  std::string tmpl = "/tmp/clownix-switchcore-test-XXXXXX";
  work_dir_ = mkdtemp(tmpl.data());
  chmod(work_dir_.c_str(), 0711);
  options_.switchcore_path = Binary();
  options_.work_dir = work_dir_;
  options_.request_timeout = absl::Seconds(2);
  options_.on_port_event = [this](const SwitchClient::PortEvent& e) {
    absl::MutexLock lock(&mu_);
    events_.push_back(e);
  };
}

void SwitchFixture::SetUp() {
  absl::StatusOr<std::unique_ptr<SwitchClient>> client = SwitchClient::Create(options_);
  ASSERT_TRUE(client.ok()) << client.status();
  client_ = *std::move(client);
}

void SwitchFixture::TearDown() {
  client_.reset();  // the switch removes its sockets on shutdown
  std::string cmd = absl::StrCat("rm -rf '", work_dir_, "'");
  ASSERT_EQ(system(cmd.c_str()), 0);
}

std::unique_ptr<DaemonEndpoint> SwitchFixture::Join(const std::string& lan,
                                                    const std::string& name) {
  auto ep = DaemonEndpoint::Connect(client_->ControlPath(lan), Unique(name));
  EXPECT_TRUE(ep.ok()) << ep.status();
  return ep.ok() ? *std::move(ep) : nullptr;
}

std::string SwitchFixture::Unique(const std::string& name) const {
  return absl::StrCat(work_dir_.substr(work_dir_.rfind('/') + 1), "-", name);
}

bool SwitchFixture::WaitEvent(std::function<bool(const SwitchClient::PortEvent&)> pred,
                              absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto found = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (const auto& e : events_) {
      if (pred(e)) return true;
    }
    return false;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&found), timeout);
}

bool SwitchFixture::WaitCounters(uint64_t port,
                                 std::function<bool(const SwitchClient::Counters&)> pred,
                                 absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    absl::StatusOr<SwitchClient::Counters> counters = client_->ReadCounters(port);
    if (counters.ok() && pred(*counters)) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

uint64_t SwitchFixture::PortOf(const DaemonEndpoint& ep) {
  WaitEvent([&](const auto& e) { return e.up && e.port.vm_address == ep.address(); });
  for (const auto& p : client_->Ports()) {
    if (p.vm_address == ep.address()) return p.port_id;
  }
  return 0;
}

}  // namespace clownix::switchcore
