#include "clients/web/watch_hub.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/web/proto_json.h"

namespace clownix::web {
namespace {

std::shared_ptr<const std::string> WatchMessage(const v1::WatchResponse& response) {
  return std::make_shared<const std::string>(
      absl::StrCat("{\"type\":\"watch\",\"response\":", ToJson(response), "}"));
}

}  // namespace

WatchHub::WatchHub(std::shared_ptr<grpc::Channel> channel, Options options)
    : options_(options),
      topology_(v1::Topology::NewStub(channel)),
      switch_(v1::Switch::NewStub(channel)) {}

WatchHub::~WatchHub() { Stop(); }

void WatchHub::Start() {
  watch_thread_ = std::thread([this] { WatchLoop(); });
  stats_thread_ = std::thread([this] { StatsLoop(); });
}

void WatchHub::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (watch_context_ != nullptr) watch_context_->TryCancel();
  }
  if (watch_thread_.joinable()) watch_thread_.join();
  if (stats_thread_.joinable()) stats_thread_.join();
}

uint64_t WatchHub::Subscribe(Deliver deliver) {
  absl::MutexLock lock(&mu_);
  deliver(StatusMessageLocked());
  if (model_.has_snapshot()) {
    v1::WatchResponse response;
    *response.mutable_snapshot()->mutable_topology() = model_.ToNetwork();
    response.mutable_snapshot()->set_reason(v1::Snapshot::INITIAL);
    deliver(WatchMessage(response));
  }
  if (last_stats_ != nullptr) deliver(last_stats_);
  const uint64_t id = next_id_++;
  subscribers_.emplace(id, std::move(deliver));
  return id;
}

void WatchHub::Unsubscribe(uint64_t id) {
  absl::MutexLock lock(&mu_);
  subscribers_.erase(id);
}

void WatchHub::OfferToken(const std::string& token) {
  absl::MutexLock lock(&mu_);
  if (!refused_ || token.empty()) return;
  token_ = token;
  token_offered_ = true;
}

void WatchHub::BroadcastLocked(std::shared_ptr<const std::string> message) {
  for (auto& [id, deliver] : subscribers_) deliver(message);
}

std::shared_ptr<const std::string> WatchHub::StatusMessageLocked() const {
  return std::make_shared<const std::string>(absl::StrCat(
      "{\"type\":\"status\",\"connected\":", connected_ ? "true" : "false", ",\"revision\":\"",
      model_.revision(), "\",\"message\":", JsonQuote(status_message_), "}"));
}

void WatchHub::AddTokenLocked(grpc::ClientContext* context) const {
  if (!token_.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
}

void WatchHub::WatchLoop() {
  absl::Duration retry = options_.min_retry;
  while (true) {
    grpc::ClientContext context;
    v1::WatchRequest request;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      watch_context_ = &context;
      AddTokenLocked(&context);
      request.set_since_revision(model_.revision());
      token_offered_ = false;
    }
    request.set_heartbeat_interval_ms(2000);
    request.set_omit_guest_config(true);  // the pages show no guest config
    std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader =
        topology_->Watch(&context, request);
    v1::WatchResponse response;
    while (reader->Read(&response)) {
      absl::MutexLock lock(&mu_);
      retry = options_.min_retry;
      const bool only_heartbeat = !response.has_snapshot() && response.events_size() == 0;
      model_.Apply(response);
      if (!connected_) {
        connected_ = true;
        refused_ = false;
        status_message_ = "connected";
        BroadcastLocked(StatusMessageLocked());
      }
      if (!only_heartbeat) BroadcastLocked(WatchMessage(response));
    }
    const grpc::Status status = reader->Finish();
    absl::MutexLock lock(&mu_);
    watch_context_ = nullptr;
    if (stopping_) return;
    connected_ = false;
    const bool refused = status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                         status.error_code() == grpc::StatusCode::PERMISSION_DENIED;
    refused_ = refused;
    status_message_ = refused
                          ? absl::StrCat("clownixd refused the watch (", status.error_message(),
                                         "): waiting for a page's token")
                          : absl::StrCat("reconnecting to clownixd (", status.error_message(), ")");
    BroadcastLocked(StatusMessageLocked());
    // Waits for the retry delay, a token (when refused) or Stop: no polling in between.
    auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || token_offered_; };
    if (refused) {
      mu_.Await(absl::Condition(&wake));
    } else {
      mu_.AwaitWithTimeout(absl::Condition(&wake), retry);
      retry = std::min(retry * 2, options_.max_retry);
    }
  }
}

void WatchHub::StatsLoop() {
  while (true) {
    std::vector<std::string> lans;
    std::string token;
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.stats_interval);
      if (stopping_) return;
      if (subscribers_.empty() || !connected_) continue;
      lans = model_.LanNames();
      token = token_;
    }
    std::string json = "{\"type\":\"stats\",\"lans\":[";
    bool first = true;
    for (const std::string& lan : lans) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
      v1::GetLanStatsRequest request;
      request.set_lan(lan);
      v1::LanStats stats;
      // A LAN deleted meanwhile, or the switch restarting: that LAN has no counters this round.
      if (!switch_->GetLanStats(&context, request, &stats).ok()) continue;
      absl::StrAppend(&json, first ? "" : ",", ToJson(stats));
      first = false;
    }
    json += "]}";
    absl::MutexLock lock(&mu_);
    last_stats_ = std::make_shared<const std::string>(std::move(json));
    BroadcastLocked(last_stats_);
  }
}

}  // namespace clownix::web
