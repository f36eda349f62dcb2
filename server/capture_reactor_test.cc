// The Switch.Capture stream through SwitchService, in-process gRPC, over a fake backend whose
// captures the test feeds (testing/fake_capture.h).
#include "server/capture_reactor.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/clownix/v1/switch.grpc.pb.h"
#include "server/switch_service.h"
#include "server/testing/fake_capture.h"

namespace clownix::server {
namespace {

using clownix::v1::CaptureEnd;
using clownix::v1::CaptureRequest;
using clownix::v1::CaptureResponse;
using switchcore::ctl::Direction;
using ::testing::ElementsAre;
using testing::FakeCapture;

constexpr absl::Duration kWait = absl::Seconds(30);

class FakeBackend final : public SwitchBackend {
 public:
  class Capture final : public SwitchBackend::Capture {
   public:
    Capture(FakeBackend* backend, std::shared_ptr<FakeCapture> fake, bool whole_lan)
        : backend_(backend), session_(fake->NewSession()), whole_lan_(whole_lan) {}
    switchcore::CaptureSession& session() override { return *session_; }
    bool whole_lan() const override { return whole_lan_; }
    std::string PortName(uint64_t port_id) override {
      return whole_lan_ ? absl::StrCat("p", port_id) : "vm1.eth1";
    }
    absl::Status TopologyStatus() const override {
      absl::MutexLock lock(&backend_->mu_);
      return backend_->topology_status_;
    }

   private:
    FakeBackend* const backend_;
    std::unique_ptr<switchcore::CaptureSession> session_;
    const bool whole_lan_;
  };

  absl::StatusOr<clownix::v1::LanStats> GetLanStats(const std::string&) override {
    return absl::UnimplementedError("not here");
  }
  absl::StatusOr<std::unique_ptr<SwitchBackend::Capture>> StartCapture(
      const CaptureRequest& request) override {
    absl::MutexLock lock(&mu_);
    if (!start_error_.ok()) return start_error_;
    switchcore::CaptureSpec spec;
    spec.lan = request.lan();
    spec.snaplen = request.snaplen() ? request.snaplen() : 65535;
    captures_.push_back(std::make_shared<FakeCapture>(spec));
    return std::unique_ptr<SwitchBackend::Capture>(
        new Capture(this, captures_.back(), request.has_lan()));
  }

  std::shared_ptr<FakeCapture> WaitForCapture(size_t i) {
    absl::MutexLock lock(&mu_);
    auto there = [this, i]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return captures_.size() > i; };
    EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&there), kWait));
    return captures_.size() > i ? captures_[i] : nullptr;
  }
  void set_start_error(absl::Status status) {
    absl::MutexLock lock(&mu_);
    start_error_ = std::move(status);
  }
  void set_topology_status(absl::Status status) {
    absl::MutexLock lock(&mu_);
    topology_status_ = std::move(status);
  }

 private:
  absl::Mutex mu_;
  absl::Status start_error_ ABSL_GUARDED_BY(mu_);
  absl::Status topology_status_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<FakeCapture>> captures_ ABSL_GUARDED_BY(mu_);
};

// pcapng, decoded as far as these tests look: block types, interface names, and per frame its
// interface, direction flags and length.
struct Decoded {
  std::vector<uint32_t> types;
  std::vector<std::string> interfaces;
  struct Frame {
    uint32_t interface;
    uint32_t flags;
    uint32_t captured;
  };
  std::vector<Frame> frames;
};

uint32_t Get32(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}

Decoded Decode(const std::string& file) {
  Decoded out;
  size_t at = 0;
  while (at + 12 <= file.size()) {
    uint32_t type = Get32(file, at);
    uint32_t total = Get32(file, at + 4);
    out.types.push_back(type);
    if (type == 1) {  // IDB: the first option is if_name
      uint16_t length;
      std::memcpy(&length, file.data() + at + 16 + 2, 2);
      out.interfaces.push_back(file.substr(at + 20, length));
    } else if (type == 6) {  // EPB: the first option is epb_flags
      uint32_t captured = Get32(file, at + 20);
      size_t options = at + 28 + (captured + 3) / 4 * 4;
      out.frames.push_back({Get32(file, at + 8), Get32(file, options + 4), captured});
    }
    at += total;
  }
  EXPECT_EQ(at, file.size()) << "a partial block";
  return out;
}

std::vector<uint8_t> Bytes(size_t size) { return std::vector<uint8_t>(size, 0xab); }

class CaptureReactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CaptureReactor::Options options;
    options.flush_after = absl::Milliseconds(5);
    options.idle_wait = absl::Milliseconds(20);
    service_ = std::make_unique<SwitchService>(nullptr, &backend_, options);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    stub_ = clownix::v1::Switch::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override { server_->Shutdown(); }

  // Reads the whole stream: the file, the last message, the status.
  struct Result {
    std::string file;
    std::vector<CaptureResponse> messages;
    grpc::Status status;
  };
  Result ReadAll(grpc::ClientContext* context,
                 std::unique_ptr<grpc::ClientReader<CaptureResponse>>& reader) {
    Result result;
    CaptureResponse response;
    while (reader->Read(&response)) {
      result.file += response.data();
      result.messages.push_back(response);
    }
    result.status = reader->Finish();
    return result;
  }

  FakeBackend backend_;
  std::unique_ptr<SwitchService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<clownix::v1::Switch::Stub> stub_;
};

TEST_F(CaptureReactorTest, HeaderFirstThenFramesUpToTheLimit) {
  CaptureRequest request;
  request.mutable_endpoint()->mutable_nic()->set_vm("vm1");
  request.mutable_endpoint()->mutable_nic()->set_index(1);
  request.set_max_frames(3);
  grpc::ClientContext context;
  auto reader = stub_->Capture(&context, request);
  CaptureResponse first;
  ASSERT_TRUE(reader->Read(&first));
  Decoded header = Decode(first.data());
  EXPECT_THAT(header.types, ElementsAre(0x0A0D0D0A, 1));
  EXPECT_THAT(header.interfaces, ElementsAre("vm1.eth1"));
  EXPECT_EQ(first.frames_written(), 0u);

  std::shared_ptr<FakeCapture> fake = backend_.WaitForCapture(0);
  fake->Drop(2);
  fake->Push(5, Direction::kIngress, 1000, Bytes(60));
  fake->Push(5, Direction::kEgress, 2000, Bytes(98));
  fake->Push(5, Direction::kIngress, 3000, Bytes(70), 1500);
  fake->Push(5, Direction::kIngress, 4000, Bytes(60));  // over the limit
  Result rest = ReadAll(&context, reader);
  ASSERT_TRUE(rest.status.ok()) << rest.status.error_message();
  Decoded decoded = Decode(first.data() + rest.file);
  EXPECT_THAT(decoded.types, ElementsAre(0x0A0D0D0A, 1, 6, 6, 6, 5));
  ASSERT_EQ(decoded.frames.size(), 3u);
  EXPECT_EQ(decoded.frames[0].flags, 1u);  // inbound: the port sent it
  EXPECT_EQ(decoded.frames[1].flags, 2u);  // outbound: delivered to it
  EXPECT_EQ(decoded.frames[1].captured, 98u);
  const CaptureResponse& last = rest.messages.back();
  EXPECT_EQ(last.end().reason(), CaptureEnd::FRAME_LIMIT);
  EXPECT_EQ(last.frames_written(), 3u);
  EXPECT_EQ(last.frames_dropped(), 2u);
  for (size_t i = 0; i + 1 < rest.messages.size(); ++i) {
    EXPECT_FALSE(rest.messages[i].has_end());
  }
  EXPECT_TRUE(fake->stopped());
}

TEST_F(CaptureReactorTest, ALanCaptureHasAnInterfacePerPort) {
  CaptureRequest request;
  request.set_lan("lan1");
  request.set_max_frames(3);
  grpc::ClientContext context;
  auto reader = stub_->Capture(&context, request);
  std::shared_ptr<FakeCapture> fake = backend_.WaitForCapture(0);
  fake->Push(7, Direction::kIngress, 1000, Bytes(60));
  fake->Push(9, Direction::kIngress, 2000, Bytes(60));
  fake->Push(7, Direction::kIngress, 3000, Bytes(60));
  Result result = ReadAll(&context, reader);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  Decoded decoded = Decode(result.file);
  EXPECT_THAT(decoded.types, ElementsAre(0x0A0D0D0A, 1, 6, 1, 6, 6, 5, 5));
  EXPECT_THAT(decoded.interfaces, ElementsAre("p7", "p9"));
  ASSERT_EQ(decoded.frames.size(), 3u);
  EXPECT_EQ(decoded.frames[0].interface, 0u);
  EXPECT_EQ(decoded.frames[1].interface, 1u);
  EXPECT_EQ(decoded.frames[2].interface, 0u);
}

TEST_F(CaptureReactorTest, ThePortGoingAwayEndsTheStreamWithItsStatus) {
  CaptureRequest request;
  request.mutable_endpoint()->set_tap("tap0");
  grpc::ClientContext context;
  auto reader = stub_->Capture(&context, request);
  std::shared_ptr<FakeCapture> fake = backend_.WaitForCapture(0);
  fake->Push(3, Direction::kIngress, 1000, Bytes(60));
  fake->End(absl::AbortedError("port down: peer gone"));
  Result result = ReadAll(&context, reader);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(result.status.error_message(), "port down: peer gone");
  const CaptureResponse& last = result.messages.back();
  EXPECT_EQ(last.end().reason(), CaptureEnd::PORT_DOWN);
  EXPECT_EQ(last.end().message(), "port down: peer gone");
  EXPECT_EQ(last.frames_written(), 1u);
  EXPECT_EQ(Decode(result.file).frames.size(), 1u);  // the frame before the end is there
}

TEST_F(CaptureReactorTest, TheTargetLeavingTheTopologyEndsTheStream) {
  CaptureRequest request;
  request.mutable_endpoint()->mutable_nic()->set_vm("vm1");
  grpc::ClientContext context;
  auto reader = stub_->Capture(&context, request);
  CaptureResponse first;
  ASSERT_TRUE(reader->Read(&first));
  backend_.set_topology_status(absl::AbortedError("vm \"vm1\" was deleted"));
  Result result = ReadAll(&context, reader);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::ABORTED);
  ASSERT_FALSE(result.messages.empty());
  EXPECT_EQ(result.messages.back().end().reason(), CaptureEnd::ENDPOINT_REMOVED);
  EXPECT_EQ(result.messages.back().end().message(), "vm \"vm1\" was deleted");
  EXPECT_TRUE(backend_.WaitForCapture(0)->stopped());
}

TEST_F(CaptureReactorTest, ADurationEndsTheStreamOk) {
  CaptureRequest request;
  request.mutable_endpoint()->mutable_nic()->set_vm("vm1");
  request.set_duration_ms(50);
  request.set_format(clownix::v1::CAPTURE_FORMAT_PCAP);
  grpc::ClientContext context;
  auto reader = stub_->Capture(&context, request);
  Result result = ReadAll(&context, reader);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.messages.back().end().reason(), CaptureEnd::DURATION_LIMIT);
  ASSERT_EQ(result.file.size(), 24u);  // the classic pcap header, no frame
  EXPECT_EQ(Get32(result.file, 0), 0xa1b23c4du);
}

TEST_F(CaptureReactorTest, AStartErrorIsTheStatusAndNothingIsSent) {
  backend_.set_start_error(absl::InvalidArgumentError("filter \"x\": syntax error"));
  CaptureRequest request;
  request.set_lan("lan1");
  grpc::ClientContext context;
  auto reader = stub_->Capture(&context, request);
  Result result = ReadAll(&context, reader);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(result.status.error_message(), "filter \"x\": syntax error");
  EXPECT_TRUE(result.messages.empty());
}

TEST_F(CaptureReactorTest, CancellingStopsTheCapture) {
  CaptureRequest request;
  request.set_lan("lan1");
  grpc::ClientContext context;
  auto reader = stub_->Capture(&context, request);
  CaptureResponse first;
  ASSERT_TRUE(reader->Read(&first));
  std::shared_ptr<FakeCapture> fake = backend_.WaitForCapture(0);
  context.TryCancel();
  Result result = ReadAll(&context, reader);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::CANCELLED);
  absl::Time deadline = absl::Now() + kWait;
  while (!fake->stopped() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_TRUE(fake->stopped());
}

}  // namespace
}  // namespace clownix::server
