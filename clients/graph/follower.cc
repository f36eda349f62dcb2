#include "clients/graph/follower.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "clients/graph/dot_builder.h"

namespace clownix::graph {
namespace {

// Heartbeats tell a resumed stream it is live when no change comes, which clears the notice.
constexpr uint32_t kHeartbeatMs = 1000;
// How long to wait for the server between attempts, and after a failed attempt.
constexpr absl::Duration kConnectWait = absl::Seconds(1);
constexpr absl::Duration kRetryWait = absl::Milliseconds(200);

bool Retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return false;
    default:
      return true;
  }
}

}  // namespace

Follower::Follower(std::shared_ptr<grpc::Channel> channel, const DotRenderer* renderer,
                   Options options)
    : channel_(std::move(channel)),
      stub_(v1::Topology::NewStub(channel_)),
      renderer_(renderer),
      options_(std::move(options)) {}

void Follower::Log(const std::string& line) const {
  if (options_.log != nullptr) *options_.log << "clownix-graph: " << line << std::endl;
}

void Follower::SetConnected(bool connected, const std::string& why) {
  if (connected == connected_) return;
  connected_ = connected;
  dirty_ = true;
  if (connected) {
    ever_connected_ = true;
    Log(absl::StrCat("following ", options_.server, " from revision ", view_.revision()));
  } else {
    lost_at_ = absl::Now();
    Log(absl::StrCat("lost ", options_.server, " (", why, "); will resume after revision ",
                     view_.revision()));
  }
}

void Follower::ReadLoop() {
  bool waiting_logged = false;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
    }
    if (!channel_->WaitForConnected(absl::ToChronoTime(absl::Now() + kConnectWait))) {
      absl::MutexLock lock(&mu_);
      if (!ever_connected_ && !waiting_logged) {
        Log(absl::StrCat("waiting for clownixd at ", options_.server));
        waiting_logged = true;
        dirty_ = true;  // a picture that says so, until the server answers
      }
      SetConnected(false, "not answering");
      continue;
    }
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    v1::WatchRequest request;
    request.set_label_selector(options_.label_selector);
    request.set_heartbeat_interval_ms(kHeartbeatMs);
    request.set_omit_guest_config(true);  // the picture shows no guest config
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
      context_ = &context;
      request.set_since_revision(view_.revision());
    }
    std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader = stub_->Watch(&context, request);
    v1::WatchResponse response;
    while (reader->Read(&response)) {
      absl::MutexLock lock(&mu_);
      SetConnected(true, "");
      if (view_.Apply(response)) dirty_ = true;
    }
    grpc::Status status = reader->Finish();
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
    if (stopped_) return;
    if (!Retryable(status.error_code())) {
      final_status_ =
          absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                       absl::StrCat("watch on ", options_.server, ": ", status.error_message()));
      stopped_ = true;
      return;
    }
    SetConnected(false, absl::StrCat(status.error_message(), ", code ", status.error_code()));
    mu_.AwaitWithTimeout(absl::Condition(&stopped_), kRetryWait);
  }
}

absl::Status Follower::Run() {
  std::thread reader([this] { ReadLoop(); });
  absl::Time last_render = absl::InfinitePast();
  for (;;) {
    mu_.Lock();
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return dirty_ || stopped_; };
    mu_.Await(absl::Condition(&ready));
    if (!stopped_ && last_render != absl::InfinitePast()) {
      mu_.AwaitWithDeadline(absl::Condition(&stopped_), last_render + options_.debounce);
    }
    if (stopped_) {
      mu_.Unlock();
      break;
    }
    dirty_ = false;
    v1::Network network = view_.ToNetwork();
    DotBuilder::Options picture;
    picture.title = options_.title;
    picture.zone = options_.zone;
    picture.time_is_revision_time = view_.revision_time() != absl::InfinitePast();
    picture.time = picture.time_is_revision_time ? view_.revision_time() : absl::Now();
    if (!ever_connected_) {
      picture.notice = absl::StrCat("waiting for clownixd at ", options_.server);
    } else if (!connected_) {
      picture.notice = absl::StrCat("clownixd at ", options_.server, " unreachable since ",
                                    absl::FormatTime("%H:%M:%S", lost_at_, options_.zone),
                                    ": showing revision ", network.revision(), ", will resume");
    }
    mu_.Unlock();

    last_render = absl::Now();
    absl::Status rendered = renderer_->Render(DotBuilder(picture).Build(network));
    if (!rendered.ok()) {
      Log(absl::StrCat("render of revision ", network.revision(),
                       " failed: ", rendered.ToString()));
      continue;
    }
    absl::MutexLock lock(&mu_);
    rendered_revision_ = network.revision();
    Log(absl::StrCat("revision ", network.revision(), " -> ", renderer_->MainPath(),
                     picture.notice.empty() ? "" : absl::StrCat(" (", picture.notice, ")")));
  }
  reader.join();
  absl::MutexLock lock(&mu_);
  return final_status_;
}

void Follower::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

uint64_t Follower::rendered_revision() const {
  absl::MutexLock lock(&mu_);
  return rendered_revision_;
}

}  // namespace clownix::graph
