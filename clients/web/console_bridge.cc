#include "clients/web/console_bridge.h"

#include <utility>

#include "clients/web/api_handler.h"

namespace clownix::web {

std::shared_ptr<ConsoleBridge> ConsoleBridge::Start(v1::Machines::Stub* stub, const std::string& vm,
                                                    const std::string& token,
                                                    std::optional<v1::ConsoleWindowSize> size,
                                                    std::shared_ptr<Sink> sink) {
  std::shared_ptr<ConsoleBridge> bridge(new ConsoleBridge(std::move(sink)));
  bridge->self_ = bridge;
  AddToken(&bridge->context_, token);
  v1::ConsoleRequest first;
  first.set_vm(vm);
  if (size) *first.mutable_window_size() = *std::move(size);
  {
    absl::MutexLock lock(&bridge->mu_);
    bridge->queue_.push_back(std::move(first));
  }
  stub->async()->Console(&bridge->context_, bridge.get());
  bridge->AddHold();
  bridge->StartRead(&bridge->response_);
  bridge->MaybeWrite();
  bridge->StartCall();
  return bridge;
}

void ConsoleBridge::Send(std::string input) {
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    v1::ConsoleRequest request;
    request.set_input(std::move(input));
    queue_.push_back(std::move(request));
  }
  MaybeWrite();
}

void ConsoleBridge::Resize(v1::ConsoleWindowSize size) {
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    v1::ConsoleRequest request;
    *request.mutable_window_size() = std::move(size);
    queue_.push_back(std::move(request));
  }
  MaybeWrite();
}

void ConsoleBridge::Close() { Finish(/*cancel=*/true); }

void ConsoleBridge::Finish(bool cancel) {
  bool release = false;
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    closing_ = true;
    queue_.clear();
    release = !writing_;
    if (release) hold_released_ = true;
  }
  // While the hold is held OnDone cannot run, so the context is alive; OnWriteDone releases it
  // otherwise.
  if (cancel) context_.TryCancel();
  if (release) RemoveHold();
}

void ConsoleBridge::MaybeWrite() {
  {
    absl::MutexLock lock(&mu_);
    if (closing_ || writing_ || queue_.empty()) return;
    writing_ = true;
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
  }
  StartWrite(&in_flight_);
}

void ConsoleBridge::OnWriteDone(bool ok) {
  bool release = false;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    // A failed write means the call is ending: OnReadDone(false) follows and finishes.
    if (closing_ && !hold_released_) {
      hold_released_ = true;
      release = true;
    }
    if (!ok && !release) return;
  }
  if (release) {
    RemoveHold();  // May lead to OnDone and delete this: nothing after.
    return;
  }
  MaybeWrite();
}

void ConsoleBridge::OnReadDone(bool ok) {
  if (!ok) {
    // The console ended (or the call failed): stop writing, so OnDone comes with the status.
    Finish(/*cancel=*/false);
    return;
  }
  sink_->OnOutput(std::move(*response_.mutable_output()));
  response_.Clear();
  StartRead(&response_);
}

void ConsoleBridge::OnDone(const grpc::Status& status) {
  sink_->OnEnd(FromGrpc(status));
  self_.reset();  // May delete this: nothing after.
}

}  // namespace clownix::web
