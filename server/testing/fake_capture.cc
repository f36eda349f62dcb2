#include "server/testing/fake_capture.h"

#include <utility>

namespace clownix::server::testing {
namespace {

class FakeCaptureSession final : public switchcore::CaptureSession {
 public:
  explicit FakeCaptureSession(std::shared_ptr<FakeCapture> capture)
      : capture_(std::move(capture)) {}
  ~FakeCaptureSession() override { capture_->Stop(); }
  absl::Status Read(absl::Time deadline, size_t max_frames,
                    absl::FunctionRef<void(const switchcore::CapturedFrame&)> on_frame) override {
    return capture_->Read(deadline, max_frames, on_frame);
  }
  void Stop() override { capture_->Stop(); }
  uint64_t dropped() const override { return capture_->dropped(); }
  uint64_t bound_port() const override { return capture_->bound_port(); }

 private:
  const std::shared_ptr<FakeCapture> capture_;
};

}  // namespace

std::unique_ptr<switchcore::CaptureSession> FakeCapture::NewSession() {
  return std::make_unique<FakeCaptureSession>(shared_from_this());
}

void FakeCapture::Push(uint64_t port_id, switchcore::ctl::Direction direction, int64_t timestamp_ns,
                       std::vector<uint8_t> data, uint32_t wire_length) {
  absl::MutexLock lock(&mu_);
  if (!end_.ok()) return;
  uint32_t length = wire_length ? wire_length : static_cast<uint32_t>(data.size());
  if (data.size() > spec_.snaplen) data.resize(spec_.snaplen);
  frames_.push_back(Frame{port_id, direction, timestamp_ns, length, std::move(data)});
}

void FakeCapture::Drop(uint64_t count) {
  absl::MutexLock lock(&mu_);
  dropped_ += count;
}

void FakeCapture::Bind(uint64_t port_id) {
  absl::MutexLock lock(&mu_);
  bound_port_ = port_id;
}

void FakeCapture::End(absl::Status why) {
  absl::MutexLock lock(&mu_);
  if (end_.ok()) end_ = std::move(why);
}

bool FakeCapture::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

size_t FakeCapture::unread() const {
  absl::MutexLock lock(&mu_);
  return frames_.size();
}

absl::Status FakeCapture::Read(absl::Time deadline, size_t max_frames,
                               absl::FunctionRef<void(const switchcore::CapturedFrame&)> on_frame) {
  std::vector<Frame> batch;
  {
    absl::MutexLock lock(&mu_);
    auto ready = [this]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !frames_.empty() || !end_.ok(); };
    mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
    if (frames_.empty()) return end_;
    while (!frames_.empty() && batch.size() < max_frames) {
      batch.push_back(std::move(frames_.front()));
      frames_.pop_front();
    }
  }
  for (const Frame& frame : batch) {
    switchcore::CapturedFrame out;
    out.port_id = frame.port_id;
    out.direction = frame.direction;
    out.timestamp_ns = frame.timestamp_ns;
    out.wire_length = frame.wire_length;
    out.data = absl::MakeConstSpan(frame.data);
    on_frame(out);
  }
  return absl::OkStatus();
}

void FakeCapture::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  if (end_.ok()) end_ = absl::CancelledError("capture stopped");
}

uint64_t FakeCapture::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

uint64_t FakeCapture::bound_port() const {
  absl::MutexLock lock(&mu_);
  return bound_port_;
}

}  // namespace clownix::server::testing
