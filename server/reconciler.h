// Reconciler: makes the running network match the topology, and the topology tell what really
// runs.
//
// How it works. The reconciler watches the store's committed events like any watcher and turns
// each into dirty marks in its ReconcileQueue: the VMs, LANs and links it touches. The backends'
// observations land in the same queue (the bootstrap feeds the drivers' callbacks into it). One
// thread takes what is dirty, compares what the topology wants with what the VM driver and the
// switch driver report, and acts: create or delete a LAN in the switch, boot or kill a VM,
// hot-plug or unplug a NIC, attach or detach a tap, set impairments. What the backends then
// observe (a VM booting, answering, dying; a port coming up) comes back as store mutations
// (VmStatus, LinkStatus), so the topology tells what happened, not what was asked. Reconciling
// compares states instead of replaying commands, so a restart of clownixd (everything dirty,
// running VMs adopted) or of the switch converges the same way.
//
// A VM boots on the file of its image (Vm.image, looked up at each boot: Options::find_image).
// A VM whose state is DEFINED, BOOTING or RUNNING is meant to run; STOPPED or CRASHED ones are
// not (StartVm makes one DEFINED again); STOPPING ones are being halted. A VM's eth0 sits on the
// admin LAN (kAdminLan) from its boot on, and only if its `admin` is true (otherwise it has no
// eth0); eth0 is never hot-plugged or unplugged (`admin` changes only while the VM is not
// running). A NIC or tap on a LAN the switch does not have yet is plugged in once the LAN is
// created.
//
// Which switch port is which endpoint, and what impairments it has, is known on the
// reconciler's thread only; a port that comes back under a new id gets its impairments again.
//
// Memory and pacing. A VM that should boot goes through a BootPacer (boot_pacer.h) over the
// host's MemoryBudget (memory_budget.h): it boots when its charge fits and a boot slot is free;
// until then it is DEFINED, "waiting for memory: N MiB needed, M MiB free", or BOOTING, "queued
// to boot: ...". Its charge is given back when its process is gone (or when it leaves the queue:
// deleted, halted). StartVm refuses a VM larger than the whole budget (RESOURCE_EXHAUSTED).
//
// Failures. A VM that cannot boot becomes CRASHED with the reason. Any other action that fails
// is logged once (again when its error changes, and when it works again); a transient failure
// (UNAVAILABLE, DEADLINE_EXCEEDED: e.g. the switch is restarting) is retried, the delay doubling
// from Options::retry_delay up to Options::max_retry_delay. A link whose port is not up stays
// down in the topology.
//
// Thread-safety: StartVm, HaltVm, RebootVm, WaitIdle and IdentifyPort may be called from any
// thread; Stop from one thread.
#ifndef CLOWNIX_SERVER_RECONCILER_H_
#define CLOWNIX_SERVER_RECONCILER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/boot_pacer.h"
#include "server/endpoint_ref.h"
#include "server/memory_budget.h"
#include "server/mutation.pb.h"
#include "server/reconcile_queue.h"
#include "server/saved_ports.h"
#include "server/switch_driver.h"
#include "server/topology_store.h"
#include "server/vm_driver.h"
#include "server/watch_hub.h"

namespace clownix::server {

class Reconciler final : public WatchSubscriber {
 public:
  struct Options {
    // Where the switch's VM ports are kept for the next clownixd (saved_ports.h); "": nowhere.
    std::string saved_ports_path;
    absl::Duration retry_delay = absl::Seconds(1);
    absl::Duration max_retry_delay = absl::Seconds(30);
    // The image called `name` (ImageCatalog::Find): a VM boots on its root_fs, looked up at each
    // boot; an image that is gone (NOT_FOUND) leaves the VM CRASHED, "failed to start: " and
    // why. Unset: VMs boot on the runtime's default root file system.
    std::function<absl::StatusOr<clownix::v1::Image>(const std::string& name)> find_image;
    // The host's VM memory budget; nullptr: no limit. Must outlive the reconciler.
    MemoryBudget* budget = nullptr;
    // How many VMs boot at once and how long a boot holds its slot.
    BootPacer::Options pacing;
  };

  // Takes over the running network and returns once it matches the topology: VMs meant to run
  // that do not (clownixd or the host went down) are DEFINED again and boot, a halt that was
  // under way is STOPPED, running VMs are adopted, VMs the topology no longer has are killed, the
  // saved ports are given back to the switch. Events the drivers reported before are already in
  // `queue`. `store`, `queue`, `vms` and `sw` must outlive the reconciler.
  static std::unique_ptr<Reconciler> Create(TopologyStore* store, ReconcileQueue* queue,
                                            VmDriver* vms, SwitchDriver* sw, Options options);
  // Stop().
  ~Reconciler() override;

  // Stops reconciling (closes the queue) and leaves the VMs and the switch as they are.
  // Idempotent. The calls below fail with UNAVAILABLE afterwards.
  void Stop();

  // Machines. StartVm makes a VM that is not running DEFINED and returns once it was acted on
  // (BOOTING, or CRASHED if it could not start); FAILED_PRECONDITION if it runs or is stopping.
  // HaltVm powers it off (STOPPING, then STOPPED; killed after `grace`); a VM that is not running
  // is just marked STOPPED. RebootVm returns once its BOOTING is in the topology. NOT_FOUND for
  // an unknown VM.
  absl::Status StartVm(const std::string& vm);
  absl::Status HaltVm(const std::string& vm, absl::Duration grace);
  absl::Status RebootVm(const std::string& vm);

  // Blocks until the reconciler has seen the store's events up to `revision` (0: every change
  // committed so far, which the hub may not have delivered yet) and acted on everything pending
  // (retries not yet due excepted), or has stopped.
  void WaitIdle(uint64_t revision = 0) {
    queue_->WaitIdle(revision != 0 ? revision : store_->revision());
  }
  // The same, giving up at `deadline`; whether it was idle by then.
  bool WaitIdleUntil(uint64_t revision, absl::Time deadline) {
    return queue_->WaitIdleUntil(revision, deadline);
  }

  // The pacer's figures (ServerInfo).
  BootPacer::Stats BootStats() const { return pacer_.GetStats(); }

  // The endpoint a switch port is (endpoint_identifier.h), from the topology and the VMs that run.
  std::optional<EndpointRef> IdentifyPort(const SwitchDriver::Port& port) const;

  // WatchSubscriber: committed events mark objects dirty.
  void OnEvents(const std::vector<EventPtr>& events) override;
  void OnTick(absl::Time now, uint64_t revision) override {}
  void OnHubShutdown() override;

 private:
  // A switch port of an endpoint, and the impairments (to_lan, from_lan) it was given.
  struct PortState {
    uint64_t id = 0;
    std::string lan;
    std::optional<std::pair<clownix::v1::Impairment, clownix::v1::Impairment>> applied;
  };
  // An action that failed: its error as last logged, and the delay before its next retry.
  struct Failure {
    std::string error;
    absl::Duration delay;
  };

  Reconciler(TopologyStore* store, ReconcileQueue* queue, VmDriver* vms, SwitchDriver* sw,
             Options options);
  void Begin();
  void Loop();
  void Process(ReconcileWork& work);
  void HandleVmEvent(const VmDriver::Event& event, ReconcileWork& work);
  void HandlePortEvent(const SwitchDriver::PortEvent& event, ReconcileWork& work);
  // Once, after the first LAN pass: gives the new switch the VM ports of the one before it.
  void RestoreSavedPorts(ReconcileWork& work);
  absl::Status ReconcileLan(const std::string& lan, bool deleting_pass, ReconcileWork& work);
  void ReconcileVm(const std::string& vm);
  // Acts on the pacer's plan: boots what may boot, tells the others why they wait.
  // The lab NICs of `vm` that can be plugged now (those on LANs the switch has): index -> the
  // LAN's control path. eth0 is one of them only when the VM has no admin network.
  std::map<int, std::string> LabNics(const clownix::v1::Vm& vm) const;
  void Admit();
  // Boots VM `name` as the topology has it (the pacer gave it a slot and its charge).
  void BootVm(const std::string& name);
  void ReconcileLink(const EndpointRef& endpoint);
  absl::Status ReconcileTap(const std::string& tap, const std::string& lan);
  // Records the outcome of an action on `what` (logging, retries: see Failures above).
  void Outcome(const std::string& what, const absl::Status& status, ReconcileWork retry);
  // Submits a status mutation and waits; refusals because the object is gone are fine.
  void Report(Mutation mutation);
  void ReportVm(const std::string& vm, clownix::v1::VmState state, const std::string& reason,
                const std::optional<clownix::v1::StartupStatus>& startup = std::nullopt);
  void ReportLink(const EndpointRef& endpoint, bool up);
  // Reports many VM states at once (submitted together, then waited for).
  void ReportVms(
      const std::vector<std::pair<std::string, std::pair<clownix::v1::VmState, std::string>>>&
          reports);

  TopologyStore* const store_;
  ReconcileQueue* const queue_;
  VmDriver* const vms_;
  SwitchDriver* const sw_;
  const Options options_;
  std::unique_ptr<MemoryBudget> unlimited_;  // when Options::budget is nullptr
  MemoryBudget* const budget_;
  BootPacer pacer_;
  std::thread loop_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> subscribed_{false};

  // The reconciler's thread only (and Create, before it starts).
  std::unique_ptr<SavedPorts> saved_ports_;
  bool restore_pending_ = true;
  std::set<std::string> lans_in_switch_;
  std::map<EndpointRef, PortState> ports_;
  std::map<std::string, Failure> failures_;  // by what failed ("lan \"blue\"", "vm1/eth1 ...")
  absl::Time next_slot_check_ = absl::InfinitePast();  // when Admit looks again for timed-out boots
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_RECONCILER_H_
