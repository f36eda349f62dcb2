#include "server/topology_service.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/seed_rules.h"
#include "server/apply_planner.h"
#include "server/grpc_status.h"
#include "server/label_selector.h"

namespace clownix::server {
namespace {

using clownix::v1::Change;
using Committed = TopologyStore::Committed;

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// The first object of the given kind in a committed event: what a Create returns.
template <typename T>
const T* First(const Committed& committed, bool (Change::*has)() const,
               const T& (Change::*get)() const) {
  if (!committed.event) return nullptr;
  for (const Change& change : committed.event->changes()) {
    if ((change.*has)()) return &(change.*get)();
  }
  return nullptr;
}

}  // namespace

template <typename Response, typename Fill>
grpc::ServerUnaryReactor* TopologyService::Mutate(grpc::CallbackServerContext* context,
                                                  Mutation mutation, Response* response,
                                                  Fill fill) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->Submit(std::move(mutation), [reactor, response, fill](absl::StatusOr<Committed> result) {
    if (!result.ok()) {
      reactor->Finish(ToGrpcStatus(result.status()));
      return;
    }
    fill(*result, response);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* TopologyService::CreateVm(grpc::CallbackServerContext* context,
                                                    const clownix::v1::CreateVmRequest* request,
                                                    clownix::v1::CreateVmResponse* response) {
  Mutation m;
  *m.mutable_create_vm() = *request;
  return Mutate(context, std::move(m), response, [](const Committed& c, auto* r) {
    r->set_revision(c.revision);
    if (const auto* vm = First(c, &Change::has_vm, &Change::vm)) *r->mutable_vm() = *vm;
  });
}

grpc::ServerUnaryReactor* TopologyService::DeleteVm(grpc::CallbackServerContext* context,
                                                    const clownix::v1::DeleteVmRequest* request,
                                                    clownix::v1::MutationResponse* response) {
  Mutation m;
  *m.mutable_delete_vm() = *request;
  return Mutate(context, std::move(m), response,
                [](const Committed& c, auto* r) { r->set_revision(c.revision); });
}

grpc::ServerUnaryReactor* TopologyService::GetVm(grpc::CallbackServerContext* context,
                                                 const clownix::v1::GetVmRequest* request,
                                                 clownix::v1::Vm* response) {
  if (absl::Status s = common::ValidateName("vm", request->name()); !s.ok())
    return FinishNow(context, s);
  absl::Status status = absl::OkStatus();
  store_->Read([&](const TopologyState& state) {
    const clownix::v1::Vm* vm = state.FindVm(request->name());
    if (vm) {
      *response = *vm;
    } else {
      status = absl::NotFoundError(absl::StrCat("vm \"", request->name(), "\" does not exist"));
    }
  });
  return FinishNow(context, status);
}

grpc::ServerUnaryReactor* TopologyService::ListVms(grpc::CallbackServerContext* context,
                                                   const clownix::v1::ListRequest* request,
                                                   clownix::v1::ListVmsResponse* response) {
  absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(request->label_selector());
  if (!selector.ok()) return FinishNow(context, selector.status());
  store_->Read([&](const TopologyState& state) {
    response->set_revision(state.revision());
    for (const auto& [name, vm] : state.vms()) {
      if (selector->Matches(vm.labels())) *response->add_vms() = vm;
    }
  });
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* TopologyService::CreateLan(grpc::CallbackServerContext* context,
                                                     const clownix::v1::CreateLanRequest* request,
                                                     clownix::v1::CreateLanResponse* response) {
  Mutation m;
  *m.mutable_create_lan() = *request;
  return Mutate(context, std::move(m), response, [](const Committed& c, auto* r) {
    r->set_revision(c.revision);
    if (const auto* lan = First(c, &Change::has_lan, &Change::lan)) *r->mutable_lan() = *lan;
  });
}

grpc::ServerUnaryReactor* TopologyService::DeleteLan(grpc::CallbackServerContext* context,
                                                     const clownix::v1::DeleteLanRequest* request,
                                                     clownix::v1::MutationResponse* response) {
  Mutation m;
  *m.mutable_delete_lan() = *request;
  return Mutate(context, std::move(m), response,
                [](const Committed& c, auto* r) { r->set_revision(c.revision); });
}

grpc::ServerUnaryReactor* TopologyService::ListLans(grpc::CallbackServerContext* context,
                                                    const clownix::v1::ListRequest* request,
                                                    clownix::v1::ListLansResponse* response) {
  absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(request->label_selector());
  if (!selector.ok()) return FinishNow(context, selector.status());
  store_->Read([&](const TopologyState& state) {
    response->set_revision(state.revision());
    for (const auto& [name, lan] : state.lans()) {
      if (selector->Matches(lan.labels())) *response->add_lans() = lan;
    }
  });
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* TopologyService::CreateTap(grpc::CallbackServerContext* context,
                                                     const clownix::v1::CreateTapRequest* request,
                                                     clownix::v1::CreateTapResponse* response) {
  Mutation m;
  *m.mutable_create_tap() = *request;
  return Mutate(context, std::move(m), response, [](const Committed& c, auto* r) {
    r->set_revision(c.revision);
    if (const auto* tap = First(c, &Change::has_tap, &Change::tap)) *r->mutable_tap() = *tap;
  });
}

grpc::ServerUnaryReactor* TopologyService::DeleteTap(grpc::CallbackServerContext* context,
                                                     const clownix::v1::DeleteTapRequest* request,
                                                     clownix::v1::MutationResponse* response) {
  Mutation m;
  *m.mutable_delete_tap() = *request;
  return Mutate(context, std::move(m), response,
                [](const Committed& c, auto* r) { r->set_revision(c.revision); });
}

grpc::ServerUnaryReactor* TopologyService::ListTaps(grpc::CallbackServerContext* context,
                                                    const clownix::v1::ListRequest* request,
                                                    clownix::v1::ListTapsResponse* response) {
  absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(request->label_selector());
  if (!selector.ok()) return FinishNow(context, selector.status());
  store_->Read([&](const TopologyState& state) {
    response->set_revision(state.revision());
    for (const auto& [name, tap] : state.taps()) {
      if (selector->Matches(tap.labels())) *response->add_taps() = tap;
    }
  });
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* TopologyService::Connect(grpc::CallbackServerContext* context,
                                                   const clownix::v1::ConnectRequest* request,
                                                   clownix::v1::MutationResponse* response) {
  // Not Mutate: the reply waits until the NIC exists in the guest (a command run right after must
  // find it), which the runtime does after the commit.
  Mutation m;
  *m.mutable_connect() = *request;
  return MutateAndWaitApplied(context, std::move(m), response);
}

grpc::ServerUnaryReactor* TopologyService::MutateAndWaitApplied(
    grpc::CallbackServerContext* context, Mutation mutation,
    clownix::v1::MutationResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->Submit(std::move(mutation),
                 [this, context, reactor, response](absl::StatusOr<Committed> c) {
                   if (!c.ok()) {
                     reactor->Finish(ToGrpcStatus(c.status()));
                     return;
                   }
                   response->set_revision(c->revision);
                   FinishWhenApplied(context, reactor, c->revision);
                 });
  return reactor;
}

void TopologyService::FinishWhenApplied(grpc::CallbackServerContext* context,
                                        grpc::ServerUnaryReactor* reactor, uint64_t revision,
                                        std::function<void()> then) {
  if (!runtime_) {
    if (then) then();
    reactor->Finish(grpc::Status::OK);
    return;
  }
  const absl::Time deadline =
      std::min(absl::FromChrono(context->deadline()), absl::Now() + kMaxApplyWait);
  {
    absl::MutexLock lock(&calls_mu_);
    ++calls_in_flight_;
  }
  std::thread([this, reactor, revision, deadline, then = std::move(then)] {
    runtime_->WaitApplied(revision, deadline);
    if (then) then();
    reactor->Finish(grpc::Status::OK);
    absl::MutexLock lock(&calls_mu_);
    --calls_in_flight_;
  }).detach();
}

void TopologyService::WaitForCalls() {
  absl::MutexLock lock(&calls_mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(calls_mu_) { return calls_in_flight_ == 0; };
  calls_mu_.Await(absl::Condition(&idle));
}

grpc::ServerUnaryReactor* TopologyService::Disconnect(grpc::CallbackServerContext* context,
                                                      const clownix::v1::DisconnectRequest* request,
                                                      clownix::v1::MutationResponse* response) {
  // Like Connect: the reply waits until the NIC is gone from the guest.
  Mutation m;
  *m.mutable_disconnect() = *request;
  return MutateAndWaitApplied(context, std::move(m), response);
}

grpc::ServerUnaryReactor* TopologyService::SetImpairment(
    grpc::CallbackServerContext* context, const clownix::v1::SetImpairmentRequest* request,
    clownix::v1::MutationResponse* response) {
  Mutation m;
  *m.mutable_set_impairment() = *request;
  return Mutate(context, std::move(m), response,
                [](const Committed& c, auto* r) { r->set_revision(c.revision); });
}

grpc::ServerUnaryReactor* TopologyService::GetTopology(
    grpc::CallbackServerContext* context, const clownix::v1::GetTopologyRequest* request,
    clownix::v1::Network* response) {
  absl::StatusOr<LabelSelector> selector = LabelSelector::Parse(request->label_selector());
  if (!selector.ok()) return FinishNow(context, selector.status());
  *response = store_->Snapshot(selector->MatchesAll() ? nullptr : &*selector);
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerWriteReactor<clownix::v1::WatchResponse>* TopologyService::Watch(
    grpc::CallbackServerContext* context, const clownix::v1::WatchRequest* request) {
  return new WatchReactor(store_, *request, watch_limits_);
}

grpc::ServerUnaryReactor* TopologyService::Apply(grpc::CallbackServerContext* context,
                                                 const clownix::v1::ApplyRequest* request,
                                                 clownix::v1::ApplyResponse* response) {
  absl::StatusOr<std::vector<PlannedStep>> plan;
  store_->Read([&](const TopologyState& state) {
    plan = PlanApply(state, *request, store_->rule_options());
    if (plan.ok() && request->dry_run()) PredictOutcomes(state, store_->rule_options(), &*plan);
    response->set_revision(state.revision());
  });
  if (!plan.ok()) return FinishNow(context, plan.status());
  for (const PlannedStep& step : *plan) *response->add_plan() = step.item;
  if (request->dry_run() || plan->empty()) return FinishNow(context, absl::OkStatus());

  // Every store step goes to the writer now, in order: they commit in that order, most of them in
  // one batch. Each completion records its own outcome; the last one finishes the RPC, once the
  // runtime has acted on all of it and the restarts (the plan's last items) are done.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::vector<size_t> store_steps;
  auto restarts = std::make_shared<std::vector<std::pair<size_t, std::string>>>();
  for (size_t i = 0; i < plan->size(); ++i) {
    if (IsStoreStep((*plan)[i])) {
      store_steps.push_back(i);
    } else {
      restarts->emplace_back(i, (*plan)[i].item.name());
    }
  }
  auto finish = [this, context, reactor, response, restarts] {
    FinishWhenApplied(context, reactor, response->revision(), [this, response, restarts] {
      for (const auto& [index, vm] : *restarts) {
        absl::Status s = runtime_ ? runtime_->Halt(vm, kRestartGrace)
                                  : absl::UnavailableError("this server runs no VMs");
        if (s.ok()) s = runtime_->Start(vm);
        if (s.ok()) continue;
        clownix::v1::PlanItem* item = response->mutable_plan(static_cast<int>(index));
        item->set_status_code(static_cast<int>(s.code()));
        item->set_status_message(std::string(s.message()));
      }
    });
  };
  if (store_steps.empty()) {
    finish();
    return reactor;
  }
  auto remaining = std::make_shared<std::atomic<size_t>>(store_steps.size());
  for (size_t i : store_steps) {
    store_->Submit(std::move((*plan)[i].mutation),
                   [response, remaining, i, finish](absl::StatusOr<Committed> result) {
                     // Steps complete in order on the writer thread: no lock needed.
                     clownix::v1::PlanItem* item = response->mutable_plan(static_cast<int>(i));
                     if (result.ok()) {
                       item->set_revision(result->revision);
                       response->set_revision(result->revision);
                     } else {
                       item->set_status_code(static_cast<int>(result.status().code()));
                       item->set_status_message(std::string(result.status().message()));
                     }
                     if (remaining->fetch_sub(1) == 1) finish();
                   });
  }
  return reactor;
}

}  // namespace clownix::server
