#include "clients/cli/guest_readiness.h"

#include <memory>

#include "absl/strings/str_cat.h"

namespace clownix::cli {

const char* ReadinessName(Readiness readiness) {
  switch (readiness) {
    case Readiness::kWaiting:
      return "waiting";
    case Readiness::kReady:
      return "ready";
    case Readiness::kFailed:
      return "startup failed";
    case Readiness::kDown:
      return "down";
    case Readiness::kMissing:
      return "missing";
  }
  return "?";
}

Readiness ReadinessOf(const v1::Vm* vm) {
  if (!vm) return Readiness::kMissing;
  switch (vm->state()) {
    case v1::VM_STATE_STOPPED:
    case v1::VM_STATE_CRASHED:
      return Readiness::kDown;
    case v1::VM_STATE_RUNNING:
      if (vm->startup().state() == v1::StartupStatus::STATE_DONE) return Readiness::kReady;
      if (vm->startup().state() == v1::StartupStatus::STATE_FAILED) return Readiness::kFailed;
      return Readiness::kWaiting;
    default:
      return Readiness::kWaiting;
  }
}

absl::Status WaitForGuests(v1::Topology::Stub& topology, const std::set<std::string>& vms,
                           absl::Time deadline, VmsSeen* seen) {
  seen->clear();
  auto all_decided = [&] {
    for (const std::string& name : vms) {
      auto it = seen->find(name);
      if (it != seen->end() && ReadinessOf(&it->second) == Readiness::kWaiting) return false;
    }
    return true;
  };
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  v1::WatchRequest request;             // since_revision 0: a snapshot first, then every change
  request.set_omit_guest_config(true);  // readiness is the VM's state and startup status
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> stream = topology.Watch(&context, request);
  v1::WatchResponse response;
  bool have_snapshot = false;
  while (stream->Read(&response)) {
    if (response.has_snapshot()) {
      have_snapshot = true;
      seen->clear();
      for (const v1::Vm& vm : response.snapshot().topology().vms()) {
        if (vms.count(vm.name())) (*seen)[vm.name()] = vm;
      }
    }
    for (const v1::Event& event : response.events()) {
      for (const v1::Change& change : event.changes()) {
        if (!change.has_vm() || !vms.count(change.vm().name())) continue;
        if (change.type() == v1::Change::DELETED) {
          seen->erase(change.vm().name());
        } else {
          (*seen)[change.vm().name()] = change.vm();
        }
      }
    }
    if (have_snapshot && all_decided()) {
      context.TryCancel();
      stream->Finish().ok();  // CANCELLED, by us: nothing to report.
      return absl::OkStatus();
    }
  }
  grpc::Status status = stream->Finish();
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError("not every VM was ready in time");
  }
  if (status.ok()) return absl::UnavailableError("the server ended the watch");
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace clownix::cli
