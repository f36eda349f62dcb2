// RuntimeController: clownixd's runtime, assembled. It starts the backends (the switch through
// switchcore::SwitchClient, the VMs through vmm::VmManager), gives the host its admin address
// (HostNetwork), and hands the rest to the Reconciler (reconciler.h), which makes the running
// network match the topology. It answers the Machines and Switch services (MachineRuntime,
// SwitchBackend) by delegation: VM life cycle to the reconciler, Exec and consoles to vmm,
// statistics from the switch (runtime_responses.h), packet captures to a CaptureManager (which
// ends those whose endpoint leaves the topology).
//
// Thread-safety: the MachineRuntime and SwitchBackend methods may be called from any thread;
// Stop from one thread.
#ifndef CLOWNIX_SERVER_RUNTIME_CONTROLLER_H_
#define CLOWNIX_SERVER_RUNTIME_CONTROLLER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/capture_manager.h"
#include "server/memory_budget.h"
#include "server/reconcile_queue.h"
#include "server/reconciler.h"
#include "server/runtime.h"
#include "server/switch_client_driver.h"
#include "server/topology_store.h"
#include "server/vm_manager_driver.h"
#include "switchcore/ctl/switch_client.h"
#include "vmm/vm_manager.h"

namespace clownix::server {

class RuntimeController final : public MachineRuntime, public SwitchBackend {
 public:
  struct Options {
    std::string work_dir;
    std::string switchcore_path;
    vmm::VmManagerOptions vmm;  // work_dir, kernel, root_fs, admin prefix, key, xstate library
    // The host's admin address, put on a tap on the admin LAN ("" for none), in `admin_netns`
    // when set (a name from `ip netns add`, or the pid of a process in the namespace), else in
    // the host's namespace.
    std::string ip_admin;
    std::string admin_netns;
    std::string admin_tap = "clownix0";
    // Taps tap0..tapN-1 defined in the topology at start, as the seed's switch offered.
    uint32_t num_tap = 0;
    // The image called `name` (ImageCatalog::Find): what VMs boot (Reconciler::Options).
    std::function<absl::StatusOr<clownix::v1::Image>(const std::string& name)> find_image;
    // At most this many VMs boot at once (boot_pacer.h); 0: no limit.
    int max_booting = 0;
  };

  // Refuses a change that makes a VM larger than the whole memory budget (RESOURCE_EXHAUSTED,
  // MemoryBudget::CheckCanEverFit), for TopologyStore::Options::check_change: it holds from before
  // the store exists, so the store can be made with it. nullptr: no limit.
  static std::function<absl::Status(const clownix::v1::Change&)> BudgetCheck(
      const MemoryBudget* budget);

  // Starts the switch and vmm, adopts running VMs, sets up the admin tap and reconciles
  // everything; returns once the network matches the topology. The store must outlive the
  // controller. Errors: those of NextSwitchIncarnation, SwitchClient::Create (and its first
  // answers), VmManager::Create and Adopt, HostNetwork::ConfigureAdminTap, and the store's for
  // the taps. A start that fails leaves the VMs it found running, for the next one to adopt.
  // `budget`: the VMs' memory budget (made by the caller, who checks changes against it with
  // BudgetCheck); must outlive the controller.
  static absl::StatusOr<std::unique_ptr<RuntimeController>> Create(TopologyStore* store,
                                                                   MemoryBudget* budget,
                                                                   Options options);
  // Stop().
  ~RuntimeController() override;

  // Stops reconciling, kills every VM (their intent stays in the topology: the next clownixd
  // boots them again; a VM that cannot be killed is logged and left to it) and stops the switch.
  // Idempotent. Runtime calls after Stop fail (UNAVAILABLE, or NOT_FOUND: the VMs are gone) but
  // are safe until the controller is destroyed.
  void Stop();

  // MachineRuntime.
  absl::Status Start(const std::string& vm) override;
  absl::Status Halt(const std::string& vm, absl::Duration grace) override;
  absl::Status Reboot(const std::string& vm) override;
  absl::StatusOr<clownix::v1::ExecResponse> Exec(const std::string& vm, const std::string& command,
                                                 absl::Duration timeout) override;
  absl::StatusOr<std::unique_ptr<ConsoleAttachment>> AttachConsole(
      const std::string& vm, std::function<void(const std::string&)> on_output) override;
  clownix::v1::ServerInfo GetServerInfo() override;
  void WaitApplied(uint64_t revision, absl::Time deadline) override;

  // SwitchBackend.
  absl::StatusOr<clownix::v1::LanStats> GetLanStats(const std::string& lan) override;
  absl::StatusOr<std::unique_ptr<Capture>> StartCapture(
      const clownix::v1::CaptureRequest& request) override;

 private:
  RuntimeController(TopologyStore* store, MemoryBudget* budget, Options options);
  absl::Status StartBackends();
  absl::Status CreateTaps();
  void KillAllVms();

  TopologyStore* const store_;
  MemoryBudget* const budget_;
  const Options options_;
  bool stopped_ = false;  // Stop's thread only
  // Declared before the backends, so it outlives their callbacks, which feed it.
  ReconcileQueue queue_;
  std::unique_ptr<switchcore::SwitchClient> switch_;
  std::unique_ptr<vmm::VmManager> vmm_;
  std::unique_ptr<SwitchClientDriver> switch_driver_;
  std::unique_ptr<VmManagerDriver> vm_driver_;
  std::unique_ptr<Reconciler> reconciler_;    // set once the start succeeded
  std::unique_ptr<CaptureManager> captures_;  // likewise
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_RUNTIME_CONTROLLER_H_
