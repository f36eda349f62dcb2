#include "server/machines_service.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/seed_rules.h"
#include "server/grpc_status.h"

namespace clownix::server {
namespace {

constexpr uint32_t kDefaultExecTimeoutMs = 10'000;
constexpr uint32_t kMaxExecTimeoutMs = 600'000;
constexpr uint32_t kDefaultHaltTimeoutMs = 10'000;

// One Console stream: the first request names the VM; output chunks from the runtime are queued
// (bounded: a reader that does not keep up loses the oldest output, as a terminal would) and
// written one at a time; a window size, then input bytes, go to the console as they come.
class ConsoleReactor final
    : public grpc::ServerBidiReactor<clownix::v1::ConsoleRequest, clownix::v1::ConsoleResponse> {
 public:
  using Attach = std::function<absl::StatusOr<std::unique_ptr<MachineRuntime::ConsoleAttachment>>(
      const std::string& vm, std::function<void(const std::string&)> on_output)>;

  ConsoleReactor(std::function<absl::Status(const std::string&)> check, Attach attach)
      : check_(std::move(check)), attach_(std::move(attach)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (!ok) {
      // The client closed its side: output goes on until it cancels.
      if (!attachment_)
        FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "the first console request must name the vm"));
      return;
    }
    if (!attachment_) {
      absl::Status status = check_(request_.vm());
      absl::StatusOr<std::unique_ptr<MachineRuntime::ConsoleAttachment>> attachment;
      if (status.ok()) {
        mu_.Unlock();  // the runtime may deliver history from inside AttachConsole
        attachment = attach_(request_.vm(), [this](const std::string& bytes) { OnOutput(bytes); });
        mu_.Lock();
        status = attachment.status();
      }
      if (!status.ok()) {
        FinishLocked(ToGrpcStatus(status));
        return;
      }
      attachment_ = *std::move(attachment);
    }
    if (request_.has_window_size()) {
      const clownix::v1::ConsoleWindowSize& size = request_.window_size();
      if (size.rows() < 1 || size.rows() > 65535 || size.columns() < 1 || size.columns() > 65535) {
        FinishLocked(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         absl::StrCat("console window size ", size.rows(), "x", size.columns(),
                                      ": rows and columns must be 1..65535")));
        return;
      }
      if (absl::Status s = attachment_->SetWindowSize(static_cast<uint16_t>(size.rows()),
                                                      static_cast<uint16_t>(size.columns()));
          !s.ok()) {
        FinishLocked(ToGrpcStatus(s));
        return;
      }
    }
    if (!request_.input().empty()) {
      if (absl::Status s = attachment_->Write(request_.input()); !s.ok()) {
        FinishLocked(ToGrpcStatus(s));
        return;
      }
    }
    if (!finished_) StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the console reader went away"));
      return;
    }
    MaybeWriteLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    std::unique_ptr<MachineRuntime::ConsoleAttachment> attachment;
    {
      absl::MutexLock lock(&mu_);
      attachment = std::move(attachment_);
    }
    attachment.reset();  // no output callback runs after this
    delete this;
  }

 private:
  static constexpr size_t kMaxQueued = 1 << 20;

  void OnOutput(const std::string& bytes) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    queued_.append(bytes);
    if (queued_.size() > kMaxQueued) queued_.erase(0, queued_.size() - kMaxQueued);
    MaybeWriteLocked();
  }

  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || queued_.empty()) return;
    response_.set_output(std::move(queued_));
    queued_.clear();
    writing_ = true;
    StartWrite(&response_);
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  const std::function<absl::Status(const std::string&)> check_;
  const Attach attach_;
  clownix::v1::ConsoleRequest request_;  // only touched by the read chain
  absl::Mutex mu_;
  std::unique_ptr<MachineRuntime::ConsoleAttachment> attachment_ ABSL_GUARDED_BY(mu_);
  std::string queued_ ABSL_GUARDED_BY(mu_);
  clownix::v1::ConsoleResponse response_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::Status MachinesService::CheckRunnable(const std::string& vm) const {
  if (absl::Status s = common::ValidateName("vm", vm); !s.ok()) return s;
  absl::Status status = absl::OkStatus();
  store_->Read([&](const TopologyState& state) {
    const clownix::v1::Vm* found = state.FindVm(vm);
    if (!found) {
      status = absl::NotFoundError(absl::StrCat("vm \"", vm, "\" does not exist"));
    } else if (!runtime_) {
      status = absl::FailedPreconditionError(
          absl::StrCat("vm \"", vm, "\" is ", clownix::v1::VmState_Name(found->state()),
                       ": no VM runtime is attached to this clownixd"));
    }
  });
  return status;
}

absl::Status MachinesService::FillVm(const std::string& name,
                                     clownix::v1::VmResponse* response) const {
  absl::Status status = absl::OkStatus();
  store_->Read([&](const TopologyState& state) {
    const clownix::v1::Vm* vm = state.FindVm(name);
    if (!vm) {
      status = absl::NotFoundError(absl::StrCat("vm \"", name, "\" was deleted meanwhile"));
      return;
    }
    *response->mutable_vm() = *vm;
    response->set_revision(state.revision());
  });
  return status;
}

grpc::ServerUnaryReactor* MachinesService::RunAsync(grpc::CallbackServerContext* context,
                                                    const std::string& vm,
                                                    std::function<absl::Status()> call) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = CheckRunnable(vm); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  {
    absl::MutexLock lock(&calls_mu_);
    ++calls_in_flight_;
  }
  std::thread([this, reactor, call = std::move(call)] {
    reactor->Finish(ToGrpcStatus(call()));
    absl::MutexLock lock(&calls_mu_);
    --calls_in_flight_;
  }).detach();
  return reactor;
}

void MachinesService::WaitForCalls() {
  absl::MutexLock lock(&calls_mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(calls_mu_) { return calls_in_flight_ == 0; };
  calls_mu_.Await(absl::Condition(&idle));
}

grpc::ServerUnaryReactor* MachinesService::Exec(grpc::CallbackServerContext* context,
                                                const clownix::v1::ExecRequest* request,
                                                clownix::v1::ExecResponse* response) {
  uint32_t timeout_ms = request->timeout_ms() ? request->timeout_ms() : kDefaultExecTimeoutMs;
  if (timeout_ms > kMaxExecTimeoutMs || request->command().empty()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        request->command().empty()
            ? "command is empty"
            : absl::StrCat("timeout_ms ", timeout_ms, " is out of range 1..", kMaxExecTimeoutMs)));
    return reactor;
  }
  return RunAsync(context, request->vm(), [this, request, response, timeout_ms] {
    absl::StatusOr<clownix::v1::ExecResponse> result =
        runtime_->Exec(request->vm(), request->command(), absl::Milliseconds(timeout_ms));
    if (!result.ok()) return result.status();
    *response = *std::move(result);
    return absl::OkStatus();
  });
}

grpc::ServerBidiReactor<clownix::v1::ConsoleRequest, clownix::v1::ConsoleResponse>*
MachinesService::Console(grpc::CallbackServerContext* context) {
  return new ConsoleReactor([this](const std::string& vm) { return CheckRunnable(vm); },
                            [this](const std::string& vm, auto on_output) {
                              return runtime_->AttachConsole(vm, std::move(on_output));
                            });
}

grpc::ServerUnaryReactor* MachinesService::Start(grpc::CallbackServerContext* context,
                                                 const clownix::v1::StartRequest* request,
                                                 clownix::v1::VmResponse* response) {
  return RunAsync(context, request->vm(), [this, request, response] {
    if (absl::Status s = runtime_->Start(request->vm()); !s.ok()) return s;
    return FillVm(request->vm(), response);
  });
}

grpc::ServerUnaryReactor* MachinesService::Halt(grpc::CallbackServerContext* context,
                                                const clownix::v1::HaltRequest* request,
                                                clownix::v1::VmResponse* response) {
  uint32_t timeout_ms = request->timeout_ms() ? request->timeout_ms() : kDefaultHaltTimeoutMs;
  return RunAsync(context, request->vm(), [this, request, response, timeout_ms] {
    if (absl::Status s = runtime_->Halt(request->vm(), absl::Milliseconds(timeout_ms)); !s.ok()) {
      return s;
    }
    return FillVm(request->vm(), response);
  });
}

grpc::ServerUnaryReactor* MachinesService::Reboot(grpc::CallbackServerContext* context,
                                                  const clownix::v1::RebootRequest* request,
                                                  clownix::v1::VmResponse* response) {
  return RunAsync(context, request->vm(), [this, request, response] {
    if (absl::Status s = runtime_->Reboot(request->vm()); !s.ok()) return s;
    return FillVm(request->vm(), response);
  });
}

grpc::ServerUnaryReactor* MachinesService::ListImages(grpc::CallbackServerContext* context,
                                                      const clownix::v1::ListImagesRequest* request,
                                                      clownix::v1::ListImagesResponse* response) {
  // A few stat calls, and a read of small files when something changed: fine on this thread.
  ImageCatalog::Listing listing = images_->List();
  for (clownix::v1::Image& image : listing.images) *response->add_images() = std::move(image);
  for (std::string& problem : listing.problems) response->add_problems(std::move(problem));
  response->set_default_image(images_->default_image());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MachinesService::GetServerInfo(
    grpc::CallbackServerContext* context, const clownix::v1::GetServerInfoRequest* request,
    clownix::v1::ServerInfo* response) {
  if (runtime_) *response = runtime_->GetServerInfo();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace clownix::server
