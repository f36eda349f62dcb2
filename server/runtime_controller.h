// RuntimeController: makes the running network match the topology, and the topology tell what
// really runs.
//
// How it works. The controller watches the store's committed events like any watcher, and turns
// each into "dirty" marks on the objects it touches (a VM, a LAN, a tap, a link). One thread
// reconciles the dirty objects: it compares what the topology wants with what vmm (VmManager)
// and the switch (SwitchClient) report, and acts: create or delete a LAN in the switch, boot or
// kill a VM, hot-plug or unplug a NIC, attach or detach a tap, set impairments. What the
// backends then observe (a VM booting, answering, dying; a port coming up with its MAC) comes
// back as store mutations (VmStatus, LinkStatus), so events report what happened, not what was
// asked. Reconciling compares states instead of replaying commands, so a restart of clownixd
// (everything marked dirty, running VMs adopted) or of the switch converges the same way.
//
// A VM whose state is DEFINED, BOOTING or RUNNING is meant to run; STOPPED or CRASHED ones are
// not (Start makes one DEFINED again). eth0 of every VM sits on the internal admin LAN, where the
// host's admin address lives on a tap (in a network namespace when asked).
//
// Thread-safety: the MachineRuntime and SwitchBackend methods may be called from any thread.
#ifndef CLOWNIX_SERVER_RUNTIME_CONTROLLER_H_
#define CLOWNIX_SERVER_RUNTIME_CONTROLLER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/runtime.h"
#include "server/saved_ports.h"
#include "server/topology_store.h"
#include "server/watch_hub.h"
#include "switchcore/ctl/switch_client.h"
#include "vmm/vm_manager.h"

namespace clownix::server {

// The switch's name of the admin LAN: not a valid topology name, so no user LAN can take it.
inline constexpr char kAdminLan[] = "_admin";

class RuntimeController final : public MachineRuntime,
                                public SwitchBackend,
                                public WatchSubscriber {
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
  };

  // Starts the switch and vmm, adopts running VMs and reconciles everything. The store must
  // outlive the controller. Errors: those of SwitchClient::Start and VmManager::Create.
  static absl::StatusOr<std::unique_ptr<RuntimeController>> Start(TopologyStore* store,
                                                                   Options options);
  // Stop().
  ~RuntimeController() override;

  // Stops reconciling, kills every VM (their intent stays in the topology: the next clownixd
  // boots them again) and stops the switch. Idempotent. Runtime calls after Stop fail (the VMs
  // are gone) but are safe until the controller is destroyed.
  void Stop();

  // MachineRuntime.
  absl::Status Start(const std::string& vm) override;
  absl::Status Halt(const std::string& vm, absl::Duration grace) override;
  absl::Status Reboot(const std::string& vm) override;
  absl::StatusOr<clownix::v1::ExecResponse> Exec(const std::string& vm, const std::string& command,
                                                 absl::Duration timeout) override;
  absl::StatusOr<std::unique_ptr<ConsoleAttachment>> AttachConsole(
      const std::string& vm, std::function<void(const std::string&)> on_output) override;

  // SwitchBackend.
  absl::StatusOr<clownix::v1::LanStats> GetLanStats(const std::string& lan) override;

  // WatchSubscriber: committed events mark objects dirty.
  void OnEvents(const std::vector<EventPtr>& events) override;
  void OnTick(absl::Time now, uint64_t revision) override {}
  void OnHubShutdown() override;

  // Blocks until nothing is dirty and no backend event is pending (for tests and start-up).
  void WaitIdle();

 private:
  // What the switch reported about a port, by endpoint key ("vm1/eth1", "tap:t0").
  struct PortState {
    uint64_t port_id = 0;
    std::string lan;
    bool up = false;
  };
  struct Work {
    std::set<std::string> vms, lans, links;  // links by endpoint key
    std::vector<vmm::VmEvent> vm_events;
    std::vector<switchcore::SwitchClient::PortEvent> port_events;
    bool empty() const {
      return vms.empty() && lans.empty() && links.empty() && vm_events.empty() &&
             port_events.empty();
    }
  };

  RuntimeController(TopologyStore* store, Options options);
  absl::Status Init();
  void Loop();
  void Process(Work& work);
  void HandleVmEvent(const vmm::VmEvent& event, Work& work);
  void HandlePortEvent(const switchcore::SwitchClient::PortEvent& event, Work& work);
  void ReconcileLan(const std::string& lan, bool deleting_pass);
  // Once, after the first LAN pass: gives the new switch the VM ports of the one before it.
  void RestoreSavedPorts(Work& work);
  void ReconcileVm(const std::string& vm);
  void ReconcileLink(const std::string& key);
  absl::Status SetUpAdminTap();
  // Submits a status mutation without waiting; refusals (object deleted meanwhile) are fine.
  void Report(Mutation mutation);
  void ReportVm(const std::string& vm, clownix::v1::VmState state, const std::string& reason);
  void ReportLink(const clownix::v1::Endpoint& endpoint, bool up);
  // Endpoint key of a VM port from its MAC (seed rule), or "" if it is not a VM NIC we know.
  std::string KeyFromMac(const std::array<uint8_t, 6>& mac) const;
  // The VM whose main pid is in the port's VM data address (UML's naming), or "".
  std::string KeyFromPid(const switchcore::SwitchClient::PortInfo& port) const;
  // Endpoint key of a VM port from the VM's data address and the port's LAN, or "".
  std::string KeyFromVmAddress(const switchcore::SwitchClient::PortInfo& port) const;
  void MarkDirty(Work work);

  TopologyStore* const store_;
  const Options options_;
  std::unique_ptr<switchcore::SwitchClient> switch_;
  std::unique_ptr<vmm::VmManager> vmm_;
  std::thread loop_;

  absl::Mutex mu_;
  Work pending_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> subscribed_{false};

  // Controller thread only (and Init).
  std::unique_ptr<SavedPorts> saved_ports_;
  bool restore_pending_ = true;
  std::set<std::string> lans_in_switch_;
  std::map<std::string, PortState> ports_;           // by endpoint key
  std::map<std::string, uint64_t> tap_ports_;        // tap name -> port id
  std::map<std::string, std::string> tap_lans_;      // tap name -> LAN it is attached to
  std::map<std::string, std::pair<clownix::v1::Impairment, clownix::v1::Impairment>>
      applied_impairments_;                          // by endpoint key, on its current port
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_RUNTIME_CONTROLLER_H_
