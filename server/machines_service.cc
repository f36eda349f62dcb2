#include "server/machines_service.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"
#include "server/names.h"

namespace clownix::server {
namespace {

constexpr uint32_t kDefaultExecTimeoutMs = 10'000;
constexpr uint32_t kMaxExecTimeoutMs = 600'000;
constexpr uint32_t kDefaultHaltTimeoutMs = 10'000;

// A console stream. Without a runtime it reads the first request (which names the VM) and
// finishes with the reason no console can be attached.
class ConsoleReactor final
    : public grpc::ServerBidiReactor<clownix::v1::ConsoleRequest, clownix::v1::ConsoleResponse> {
 public:
  explicit ConsoleReactor(std::function<absl::Status(const std::string&)> check)
      : check_(std::move(check)) {
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "the first console request must name the vm"));
      return;
    }
    Finish(ToGrpcStatus(check_(request_.vm())));
  }
  void OnDone() override { delete this; }

 private:
  std::function<absl::Status(const std::string&)> check_;
  clownix::v1::ConsoleRequest request_;
};

}  // namespace

absl::Status MachinesService::CheckRunnable(const std::string& vm) const {
  if (absl::Status s = ValidateName("vm", vm); !s.ok()) return s;
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
  std::thread([reactor, call = std::move(call)] { reactor->Finish(ToGrpcStatus(call())); })
      .detach();
  return reactor;
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
  return new ConsoleReactor([this](const std::string& vm) -> absl::Status {
    if (absl::Status s = CheckRunnable(vm); !s.ok()) return s;
    return absl::UnimplementedError("console streaming over a VM runtime is not wired yet");
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

}  // namespace clownix::server
