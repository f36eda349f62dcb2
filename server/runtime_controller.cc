#include "server/runtime_controller.h"

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_io.h"
#include "common/seed_rules.h"
#include "server/host_network.h"
#include "server/log.h"
#include "server/runtime_responses.h"
#include "server/switch_incarnation.h"

namespace clownix::server {
namespace {

constexpr size_t kExecOutputCap = 1 << 20;

// A console subscription of vmm, ended when the attachment goes away.
class VmmConsole final : public MachineRuntime::ConsoleAttachment {
 public:
  VmmConsole(vmm::VmManager* vmm, std::string vm, int64_t subscription)
      : vmm_(vmm), vm_(std::move(vm)), subscription_(subscription) {}
  ~VmmConsole() override { vmm_->UnsubscribeConsole(subscription_); }
  absl::Status Write(const std::string& bytes) override { return vmm_->WriteConsole(vm_, bytes); }
  absl::Status SetWindowSize(uint16_t rows, uint16_t columns) override {
    return vmm_->SetConsoleWindowSize(vm_, rows, columns);
  }

 private:
  vmm::VmManager* const vmm_;
  const std::string vm_;
  const int64_t subscription_;
};

}  // namespace

RuntimeController::RuntimeController(TopologyStore* store, MemoryBudget* budget, Options options)
    : store_(store), budget_(budget), options_(std::move(options)) {}

std::function<absl::Status(const clownix::v1::Change&)> RuntimeController::BudgetCheck(
    const MemoryBudget* budget) {
  if (budget == nullptr) return nullptr;
  return [budget](const clownix::v1::Change& change) {
    if (!change.has_vm() || change.type() == clownix::v1::Change::DELETED) {
      return absl::OkStatus();
    }
    return budget->CheckCanEverFit(change.vm().name(), change.vm().mem_mib());
  };
}

absl::StatusOr<std::unique_ptr<RuntimeController>> RuntimeController::Create(TopologyStore* store,
                                                                             MemoryBudget* budget,
                                                                             Options options) {
  std::unique_ptr<RuntimeController> controller(
      new RuntimeController(store, budget, std::move(options)));
  if (absl::Status s = controller->StartBackends(); !s.ok()) return s;
  if (absl::Status s = controller->CreateTaps(); !s.ok()) return s;
  Reconciler::Options reconciler;
  reconciler.saved_ports_path = controller->options_.work_dir + "/ports.saved";
  reconciler.find_image = controller->options_.find_image;
  reconciler.budget = budget;
  reconciler.pacing.max_booting = controller->options_.max_booting;
  controller->reconciler_ =
      Reconciler::Create(store, &controller->queue_, controller->vm_driver_.get(),
                         controller->switch_driver_.get(), std::move(reconciler));
  RuntimeController* self = controller.get();
  controller->captures_ = std::make_unique<CaptureManager>(
      store, controller->switch_driver_.get(),
      [self](const SwitchDriver::Port& port) { return self->reconciler_->IdentifyPort(port); });
  return controller;
}

absl::Status RuntimeController::StartBackends() {
  absl::StatusOr<uint32_t> incarnation = NextSwitchIncarnation(options_.work_dir);
  if (!incarnation.ok()) return incarnation.status();
  switchcore::SwitchClient::Options switch_options;
  switch_options.first_incarnation = *incarnation;
  switch_options.switchcore_path = options_.switchcore_path;
  switch_options.work_dir = options_.work_dir;
  // The switch lets in the VMs' users alone (besides root and its own), vm_confinement.h.
  if (const uint32_t base = options_.vmm.confinement.vm_uid_base; base != 0) {
    switch_options.vm_uids =
        switchcore::UidRange{base + common::kMinVmNumber, base + common::kMaxVmNumber};
  }
  switch_options.on_port_event = [this](const switchcore::SwitchClient::PortEvent& event) {
    queue_.AddPortEvent(event);
  };
  switch_options.on_log = [](const std::string& line) {
    Log(LogLevel::kWarning, absl::StrCat("switch: ", line));
  };
  absl::StatusOr<std::unique_ptr<switchcore::SwitchClient>> sw =
      switchcore::SwitchClient::Create(switch_options);
  if (!sw.ok()) return sw.status();
  switch_ = *std::move(sw);
  switch_driver_ = std::make_unique<SwitchClientDriver>(switch_.get());
  if (absl::Status s = switch_->WaitReady(absl::Seconds(10)); !s.ok()) return s;
  if (absl::Status s = switch_->CreateLan(kAdminLan); !s.ok()) return s;

  vmm::VmManagerOptions vmm_options = options_.vmm;
  vmm_options.on_state_change = [this](const vmm::VmEvent& event) {
    queue_.AddVmEvent(VmManagerDriver::ToEvent(event));
  };
  absl::StatusOr<std::unique_ptr<vmm::VmManager>> manager =
      vmm::VmManager::Create(std::move(vmm_options));
  if (!manager.ok()) return manager.status();
  vmm_ = *std::move(manager);
  Log(LogLevel::kInfo, vmm_->cgroup_description());
  for (const std::string& warning : vmm_->confinement_warnings()) {
    Log(LogLevel::kWarning, absl::StrCat("VMs less confined than they should be: ", warning));
  }
  vm_driver_ = std::make_unique<VmManagerDriver>(vmm_.get());
  absl::StatusOr<std::vector<std::string>> adopted = vmm_->Adopt();
  if (!adopted.ok()) return adopted.status();
  if (!adopted->empty()) {
    Log(LogLevel::kInfo, absl::StrCat("adopted ", adopted->size(), " running VM(s)"));
  }

  if (options_.ip_admin.empty()) return absl::OkStatus();
  absl::StatusOr<uint64_t> admin_port = switch_->AttachTap(kAdminLan, options_.admin_tap);
  if (!admin_port.ok()) return admin_port.status();
  return HostNetwork().ConfigureAdminTap(
      {options_.admin_tap, options_.ip_admin, options_.admin_netns});
}

absl::Status RuntimeController::CreateTaps() {
  for (uint32_t i = 0; i < options_.num_tap; ++i) {
    Mutation create;
    create.mutable_create_tap()->mutable_tap()->set_name(absl::StrCat("tap", i));
    absl::StatusOr<TopologyStore::Committed> r = store_->Mutate(create);
    if (!r.ok() && r.status().code() != absl::StatusCode::kAlreadyExists) return r.status();
  }
  return absl::OkStatus();
}

RuntimeController::~RuntimeController() { Stop(); }

void RuntimeController::Stop() {
  if (stopped_) return;
  stopped_ = true;
  bool started = reconciler_ != nullptr;
  if (captures_) captures_->Shutdown();  // their streams end, and say why
  if (reconciler_) reconciler_->Stop();
  queue_.Close();  // what the backends report from now on is nobody's business
  // vmm_ itself lives on until the destructor: a Machines call still in flight fails cleanly
  // (the VM is gone) instead of touching a destroyed manager.
  if (started) KillAllVms();
  if (switch_) switch_->Shutdown();
}

void RuntimeController::KillAllVms() {
  std::vector<VmDriver::Info> vms = vm_driver_->List();
  std::vector<absl::Status> results(vms.size());
  // In parallel: each kill waits for its VM's processes to be gone.
  std::vector<std::thread> killers;
  for (size_t i = 0; i < vms.size(); ++i) {
    killers.emplace_back([this, &vms, &results, i] { results[i] = vm_driver_->Kill(vms[i].name); });
  }
  for (std::thread& killer : killers) killer.join();
  for (size_t i = 0; i < vms.size(); ++i) {
    if (results[i].ok() || results[i].code() == absl::StatusCode::kNotFound) continue;
    Log(LogLevel::kError,
        absl::StrCat("vm \"", vms[i].name, "\" was not stopped: ", results[i].ToString(),
                     "; the next clownixd adopts it if it still runs"));
  }
}

absl::Status RuntimeController::Start(const std::string& vm) { return reconciler_->StartVm(vm); }

absl::Status RuntimeController::Halt(const std::string& vm, absl::Duration grace) {
  return reconciler_->HaltVm(vm, grace);
}

absl::Status RuntimeController::Reboot(const std::string& vm) { return reconciler_->RebootVm(vm); }

absl::StatusOr<clownix::v1::ExecResponse> RuntimeController::Exec(const std::string& vm,
                                                                  const std::string& command,
                                                                  absl::Duration timeout) {
  absl::StatusOr<vmm::ExecResult> result = vmm_->Exec(vm, command, timeout, kExecOutputCap);
  if (!result.ok()) return result.status();
  bool truncated = result->truncated();
  return BuildExecResponse(result->exit_code, std::move(result->output), truncated);
}

absl::StatusOr<std::unique_ptr<MachineRuntime::ConsoleAttachment>> RuntimeController::AttachConsole(
    const std::string& vm, std::function<void(const std::string&)> on_output) {
  absl::StatusOr<int64_t> subscription =
      vmm_->SubscribeConsole(vm, [on_output = std::move(on_output)](absl::string_view bytes) {
        on_output(std::string(bytes));
      });
  if (!subscription.ok()) return subscription.status();
  return std::unique_ptr<ConsoleAttachment>(new VmmConsole(vmm_.get(), vm, *subscription));
}

void RuntimeController::WaitApplied(uint64_t revision, absl::Time deadline) {
  // A timeout is fine: the caller's reply then comes before the guest has it, as it did before.
  if (reconciler_) reconciler_->WaitIdleUntil(revision, deadline);
}

clownix::v1::ServerInfo RuntimeController::GetServerInfo() {
  clownix::v1::ServerInfo info;
  // Unreadable /proc/meminfo: the host's size is left out (0), the rest still holds.
  if (absl::StatusOr<std::string> meminfo = common::ReadFile("/proc/meminfo"); meminfo.ok()) {
    if (absl::StatusOr<int64_t> total = MemoryBudget::MemTotalMib(*meminfo); total.ok()) {
      info.set_host_memory_mib(static_cast<uint64_t>(*total));
    }
  }
  MemoryBudget::Usage usage = budget_->usage();
  info.set_memory_budget_mib(static_cast<uint64_t>(usage.budget_mib));
  info.set_memory_used_mib(static_cast<uint64_t>(usage.used_mib));
  info.set_memory_free_mib(static_cast<uint64_t>(usage.free_mib));
  info.set_vm_overhead_mib(MemoryBudget::kUmlOverheadMib);
  if (reconciler_) {
    BootPacer::Stats boots = reconciler_->BootStats();
    info.set_max_booting(static_cast<uint32_t>(boots.max_booting));
    info.set_vms_booting(static_cast<uint32_t>(boots.booting));
    info.set_vms_queued_to_boot(static_cast<uint32_t>(boots.queued));
    for (std::string& vm : boots.waiting_for_memory) info.add_vms_waiting_for_memory(std::move(vm));
  }
  for (const auto& [vm, charge] : budget_->Charges()) {
    clownix::v1::VmHostMemory* m = info.add_vms();
    m->set_vm(vm);
    m->set_charged_mib(static_cast<uint64_t>(charge));
    // Queued VMs have no process yet, hosts without cgroups no figures: 0 then.
    if (absl::StatusOr<vmm::CgroupLimits::Usage> used = vmm_->HostUsage(vm); used.ok()) {
      m->set_used_mib(static_cast<uint64_t>(used->memory_bytes >> 20));
      m->set_peak_mib(static_cast<uint64_t>(used->memory_peak_bytes >> 20));
    }
  }
  return info;
}

absl::StatusOr<clownix::v1::LanStats> RuntimeController::GetLanStats(const std::string& lan) {
  return BuildLanStats(
      lan, switch_driver_->Ports(),
      [this](uint64_t port_id) { return switch_driver_->ReadCounters(port_id); },
      [this](const SwitchDriver::Port& port) { return reconciler_->IdentifyPort(port); });
}

absl::StatusOr<std::unique_ptr<SwitchBackend::Capture>> RuntimeController::StartCapture(
    const clownix::v1::CaptureRequest& request) {
  return captures_->Start(request);
}

}  // namespace clownix::server
