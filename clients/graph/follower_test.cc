// Follower against an in-process Topology service whose Watch plays a script: one list of
// responses and an ending per call. The real clownixd is exercised by integration_tests/graph.
#include "clients/graph/follower.h"

#include <stdlib.h>

#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace clownix::graph {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Call {
  std::vector<v1::WatchResponse> responses;
  // The status ending the stream; nullopt keeps it open until the client cancels.
  std::optional<grpc::Status> end;
};

class ScriptedTopology final : public v1::Topology::Service {
 public:
  void AddCall(Call call) {
    absl::MutexLock lock(&mu_);
    calls_.push_back(std::move(call));
  }
  std::vector<uint64_t> since_revisions() {
    absl::MutexLock lock(&mu_);
    return since_;
  }

  grpc::Status Watch(grpc::ServerContext* context, const v1::WatchRequest* request,
                     grpc::ServerWriter<v1::WatchResponse>* writer) override {
    Call call;
    {
      absl::MutexLock lock(&mu_);
      since_.push_back(request->since_revision());
      if (calls_.empty()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "script ended");
      call = std::move(calls_.front());
      calls_.pop_front();
    }
    for (const v1::WatchResponse& response : call.responses) writer->Write(response);
    if (call.end) return *call.end;
    while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    return grpc::Status::CANCELLED;
  }

 private:
  absl::Mutex mu_;
  std::deque<Call> calls_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> since_ ABSL_GUARDED_BY(mu_);
};

v1::WatchResponse Snapshot(uint64_t revision, const std::string& lan) {
  v1::WatchResponse response;
  response.mutable_snapshot()->mutable_topology()->set_revision(revision);
  response.mutable_snapshot()->mutable_topology()->add_lans()->set_name(lan);
  return response;
}

v1::WatchResponse LanCreated(uint64_t revision, const std::string& lan) {
  v1::WatchResponse response;
  v1::Event* event = response.add_events();
  event->set_revision(revision);
  event->set_time_us(1736935388000000);
  v1::Change* change = event->add_changes();
  change->set_type(v1::Change::CREATED);
  change->mutable_lan()->set_name(lan);
  return response;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

class FollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/clownix-follower.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("unix:", dir_, "/s.sock"),
                             grpc::InsecureServerCredentials());
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    DotRenderer::Options options;
    options.out_dir = dir_ + "/out";
    auto renderer = DotRenderer::Create(options);
    ASSERT_TRUE(renderer.ok()) << renderer.status();
    renderer_ = *std::move(renderer);
  }

  void TearDown() override {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    std::string cmd = absl::StrCat("rm -rf '", dir_, "'");
    ASSERT_EQ(system(cmd.c_str()), 0);
  }

  std::unique_ptr<Follower> NewFollower(absl::Duration debounce, std::ostream* log) {
    Follower::Options options;
    options.server = "scripted";
    options.debounce = debounce;
    options.log = log;
    return std::make_unique<Follower>(grpc::CreateChannel(absl::StrCat("unix:", dir_, "/s.sock"),
                                                          grpc::InsecureChannelCredentials()),
                                      renderer_.get(), options);
  }

  // Waits up to 20 s for `follower` to have rendered `revision`.
  bool WaitRendered(const Follower& follower, uint64_t revision) {
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      if (follower.rendered_revision() >= revision) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  std::string dir_;
  ScriptedTopology service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<DotRenderer> renderer_;
};

TEST_F(FollowerTest, ResumesAfterTheLastRevisionWhenTheStreamBreaks) {
  service_.AddCall({{Snapshot(3, "a"), LanCreated(4, "b")},
                    grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting")});
  service_.AddCall({{LanCreated(5, "c")}, std::nullopt});
  std::ostringstream log;
  std::unique_ptr<Follower> follower = NewFollower(absl::Milliseconds(10), &log);
  absl::Status result;
  std::thread run([&] { result = follower->Run(); });
  EXPECT_TRUE(WaitRendered(*follower, 5));
  follower->Stop();
  run.join();
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_THAT(service_.since_revisions(), ElementsAre(0, 4));
  std::string dot = ReadFile(renderer_->PathOf("dot"));
  EXPECT_THAT(dot, HasSubstr("\"lan:a\""));
  EXPECT_THAT(dot, HasSubstr("\"lan:b\""));
  EXPECT_THAT(dot, HasSubstr("\"lan:c\""));
  EXPECT_THAT(dot, HasSubstr("revision 5 at "));
  EXPECT_THAT(log.str(), HasSubstr("lost scripted (restarting"));
  EXPECT_THAT(log.str(), HasSubstr("will resume after revision 4"));
}

TEST_F(FollowerTest, ABurstOfEventsIsRenderedFewTimes) {
  Call call;
  call.responses.push_back(Snapshot(1, "first"));
  for (uint64_t revision = 2; revision <= 200; ++revision) {
    call.responses.push_back(LanCreated(revision, absl::StrCat("lan", revision)));
  }
  service_.AddCall(std::move(call));
  std::ostringstream log;
  std::unique_ptr<Follower> follower = NewFollower(absl::Milliseconds(300), &log);
  absl::Status result;
  std::thread run([&] { result = follower->Run(); });
  EXPECT_TRUE(WaitRendered(*follower, 200));
  follower->Stop();
  run.join();
  EXPECT_TRUE(result.ok()) << result;
  // 200 revisions arrive within milliseconds; with a 300 ms debounce that is a handful of renders
  // (the bound leaves room for a slow machine while staying far below one per revision).
  size_t renders = 0;
  for (size_t at = 0; (at = log.str().find(" -> ", at)) != std::string::npos; ++at) ++renders;
  EXPECT_GE(renders, 1u);
  EXPECT_LE(renders, 20u) << log.str();
  EXPECT_THAT(ReadFile(renderer_->PathOf("dot")), HasSubstr("\"lan:lan200\""));
}

TEST_F(FollowerTest, AnAnswerRetryingCannotFixEndsRun) {
  service_.AddCall({{}, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad selector \"=\"")});
  std::unique_ptr<Follower> follower = NewFollower(absl::Milliseconds(10), nullptr);
  absl::Status result = follower->Run();
  EXPECT_EQ(result.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.message(), HasSubstr("bad selector"));
}

TEST_F(FollowerTest, StopEndsRunWhileTheStreamIsIdle) {
  service_.AddCall({{Snapshot(7, "a")}, std::nullopt});
  std::unique_ptr<Follower> follower = NewFollower(absl::Milliseconds(10), nullptr);
  absl::Status result = absl::UnknownError("not run");
  std::thread run([&] { result = follower->Run(); });
  EXPECT_TRUE(WaitRendered(*follower, 7));
  follower->Stop();
  run.join();
  EXPECT_TRUE(result.ok()) << result;
}

}  // namespace
}  // namespace clownix::graph
