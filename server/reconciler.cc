#include "server/reconciler.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/endpoint_identifier.h"
#include "server/guest_config_proto.h"
#include "server/log.h"

namespace clownix::server {
namespace {

using clownix::v1::Change;
using clownix::v1::VmState;
using google::protobuf::util::MessageDifferencer;

bool MeantToRun(VmState state) {
  return state == clownix::v1::VM_STATE_DEFINED || state == clownix::v1::VM_STATE_BOOTING ||
         state == clownix::v1::VM_STATE_RUNNING;
}

bool Ended(VmState state) {
  return state == clownix::v1::VM_STATE_STOPPED || state == clownix::v1::VM_STATE_CRASHED;
}

// Failures worth trying again by themselves: the backend did not answer (in time).
bool Transient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

// A VM that is gone already is as good as killed.
absl::Status IgnoreNotFound(absl::Status status) {
  return status.code() == absl::StatusCode::kNotFound ? absl::OkStatus() : status;
}

std::string VmWhat(const std::string& vm) { return absl::StrCat("vm \"", vm, "\""); }

// One log line per change of a VM's state (the first thing a post-mortem reads). The reason can
// carry guest text (a panic message): escaped, so it cannot forge lines, and bounded.
std::string DescribeVmEvent(const VmDriver::Event& event) {
  std::string line = absl::StrCat(VmWhat(event.name), ": ", clownix::v1::VmState_Name(event.state));
  if (!event.reason.empty()) {
    absl::StrAppend(&line, " (", absl::CHexEscape(event.reason.substr(0, 200)), ")");
  }
  if (event.startup) {
    absl::StrAppend(&line, "; startup ",
                    clownix::v1::StartupStatus::State_Name(event.startup->state()), ", exit ",
                    event.startup->exit_code());
  }
  return line;
}

ReconcileWork RetryVm(const std::string& vm) {
  ReconcileWork work;
  work.vms.insert(vm);
  return work;
}

// The addresses Vm.guest gives NIC `index`.
std::vector<std::string> NicAddresses(const clownix::v1::Vm& vm, int index) {
  std::vector<std::string> cidrs;
  for (const clownix::v1::NicAddress& address : vm.guest().addresses()) {
    if (static_cast<int>(address.nic()) == index) cidrs.push_back(address.cidr());
  }
  return cidrs;
}
}  // namespace

Reconciler::Reconciler(TopologyStore* store, ReconcileQueue* queue, VmDriver* vms, SwitchDriver* sw,
                       Options options)
    : store_(store),
      queue_(queue),
      vms_(vms),
      sw_(sw),
      options_(std::move(options)),
      unlimited_(options_.budget ? nullptr : std::make_unique<MemoryBudget>(int64_t{1} << 40)),
      budget_(options_.budget ? options_.budget : unlimited_.get()),
      pacer_(budget_, options_.pacing) {}

std::unique_ptr<Reconciler> Reconciler::Create(TopologyStore* store, ReconcileQueue* queue,
                                               VmDriver* vms, SwitchDriver* sw, Options options) {
  std::unique_ptr<Reconciler> reconciler(new Reconciler(store, queue, vms, sw, std::move(options)));
  reconciler->Begin();
  return reconciler;
}

Reconciler::~Reconciler() { Stop(); }

void Reconciler::Begin() {
  if (!options_.saved_ports_path.empty()) {
    saved_ports_ = std::make_unique<SavedPorts>(options_.saved_ports_path);
    if (absl::Status s = saved_ports_->Load(); !s.ok()) {
      // Only costs the adopted VMs' traffic on their LANs until their NICs are plugged again.
      Log(LogLevel::kWarning, absl::StrCat("saved ports not restored: ", s.ToString()));
    }
  }
  std::set<std::string> running;
  for (const VmDriver::Info& info : vms_->List()) running.insert(info.name);

  ReconcileWork all;
  std::vector<std::string> restart, halted;
  store_->Read([&](const TopologyState& state) {
    for (const auto& [name, vm] : state.vms()) {
      all.vms.insert(name);
      if (running.count(name)) {
        budget_->Charge(name, vm.mem_mib());  // it runs: whatever the budget says
        continue;
      }
      if (vm.state() == clownix::v1::VM_STATE_BOOTING ||
          vm.state() == clownix::v1::VM_STATE_RUNNING) {
        restart.push_back(name);
      } else if (vm.state() == clownix::v1::VM_STATE_STOPPING) {
        halted.push_back(name);  // a halt was under way: it is done
      }
    }
    for (const auto& [name, lan] : state.lans()) all.lans.insert(name);
    for (const auto& [key, link] : state.links()) {
      all.links.insert(EndpointRef::FromProto(link.endpoint()));
    }
    for (const auto& [name, tap] : state.taps()) all.links.insert(EndpointRef::Tap(name));
  });
  // VMs meant to run that do not (clownixd or the host went down meanwhile) boot again.
  for (const std::string& name : restart) {
    ReportVm(name, clownix::v1::VM_STATE_DEFINED, "restarting: it was not running at start-up");
  }
  for (const std::string& name : halted) {
    ReportVm(name, clownix::v1::VM_STATE_STOPPED, "halted while clownixd was down");
  }
  // Also every running VM, the topology's or not (deleted while clownixd was down: killed).
  all.vms.insert(running.begin(), running.end());

  subscribed_ = true;
  uint64_t revision = store_->revision();
  store_->hub().Subscribe(this, revision);
  queue_->AddFromRevision(std::move(all), revision);
  loop_ = std::thread([this] { Loop(); });
  queue_->WaitIdle();
}

void Reconciler::Stop() {
  if (stopped_.exchange(true)) return;
  if (subscribed_) store_->hub().Unsubscribe(this);
  queue_->Close();
  if (loop_.joinable()) loop_.join();
}

void Reconciler::OnHubShutdown() {
  subscribed_ = false;
  queue_->EndRevisions();
}

void Reconciler::OnEvents(const std::vector<EventPtr>& events) {
  ReconcileWork work;
  uint64_t revision = 0;
  for (const EventPtr& event : events) {
    revision = std::max(revision, event->revision());
    for (const Change& change : event->changes()) {
      switch (change.object_case()) {
        case Change::kVm:
          work.vms.insert(change.vm().name());
          break;
        case Change::kLan:
          work.lans.insert(change.lan().name());
          break;
        case Change::kTap:
          work.links.insert(EndpointRef::Tap(change.tap().name()));
          break;
        case Change::kLink: {
          EndpointRef endpoint = EndpointRef::FromProto(change.link().endpoint());
          if (!endpoint.is_tap()) work.vms.insert(endpoint.vm());
          work.links.insert(std::move(endpoint));
          break;
        }
        case Change::OBJECT_NOT_SET:
          break;
      }
    }
  }
  queue_->AddFromRevision(std::move(work), revision);
}

void Reconciler::Loop() {
  while (std::optional<ReconcileWork> work = queue_->Next()) Process(*work);
}

void Reconciler::Process(ReconcileWork& work) {
  // What the backends saw comes first, so the rules below read an up-to-date topology. Each step
  // may add to the names of the steps after it.
  for (const VmDriver::Event& event : work.vm_events) HandleVmEvent(event, work);
  for (const SwitchDriver::PortEvent& event : work.port_events) HandlePortEvent(event, work);
  for (const std::string& lan : work.lans) {
    ReconcileWork retry;
    retry.lans.insert(lan);
    Outcome(absl::StrCat("lan \"", lan, "\""), ReconcileLan(lan, /*deleting_pass=*/false, work),
            std::move(retry));
  }
  if (restore_pending_) RestoreSavedPorts(work);
  for (const std::string& vm : work.vms) ReconcileVm(vm);
  Admit();
  for (const EndpointRef& endpoint : work.links) ReconcileLink(endpoint);
  for (const std::string& lan : work.lans) {
    ReconcileWork retry;
    retry.lans.insert(lan);
    Outcome(absl::StrCat("delete lan \"", lan, "\""),
            ReconcileLan(lan, /*deleting_pass=*/true, work), std::move(retry));
  }
}

void Reconciler::HandleVmEvent(const VmDriver::Event& event, ReconcileWork& work) {
  Log(LogLevel::kInfo, DescribeVmEvent(event));
  std::vector<EndpointRef> up_links;
  bool known = false;
  store_->Read([&](const TopologyState& topology) {
    const clownix::v1::Vm* vm = topology.FindVm(event.name);
    if (!vm) return;
    known = true;
    for (const clownix::v1::Nic& nic : vm->nics()) {
      if (nic.lan().empty() || !nic.link_up()) continue;
      up_links.push_back(EndpointRef::Nic(event.name, static_cast<int>(nic.index())));
    }
  });
  work.vms.insert(event.name);  // a VM the topology does not have is killed
  // A boot holds its slot until its startup has finished (BootPacer: starting FRR costs as much
  // CPU as the boot).
  const bool startup_finished = event.state == clownix::v1::VM_STATE_RUNNING && event.startup;
  if (startup_finished || Ended(event.state)) {
    pacer_.BootEnded(event.name, /*completed=*/startup_finished);
  }
  if (Ended(event.state)) {
    budget_->Release(event.name);  // its process is gone
    // Its ports are gone with it; the switch says so too, whichever comes first (the later one
    // finds nothing to do).
    for (auto it = ports_.begin(); it != ports_.end();) {
      it = !it->first.is_tap() && it->first.vm() == event.name ? ports_.erase(it) : std::next(it);
    }
  }
  if (!known) return;
  ReportVm(event.name, event.state, event.reason, event.startup);
  if (Ended(event.state)) {
    for (const EndpointRef& endpoint : up_links) ReportLink(endpoint, false);
  }
}

std::optional<EndpointRef> Reconciler::IdentifyPort(const SwitchDriver::Port& port) const {
  std::vector<VmDriver::Info> running;
  if (port.kind == switchcore::ctl::PortKind::kVm && !port.mac_known) running = vms_->List();
  std::optional<EndpointRef> endpoint;
  store_->Read([&](const TopologyState& topology) {
    endpoint = EndpointIdentifier(topology, running).Identify(port);
  });
  return endpoint;
}

void Reconciler::HandlePortEvent(const SwitchDriver::PortEvent& event, ReconcileWork& work) {
  const SwitchDriver::Port& port = event.port;
  if (port.kind == switchcore::ctl::PortKind::kVm && saved_ports_) {
    absl::Status saved = event.up ? saved_ports_->Put(port) : saved_ports_->Erase(port.port_id);
    // Not retried: the next port change rewrites the whole file.
    Outcome("saving ports", saved, ReconcileWork());
  }
  if (port.lan == kAdminLan) return;
  std::optional<EndpointRef> endpoint = IdentifyPort(port);
  if (!endpoint) return;
  auto it = ports_.find(*endpoint);
  if (event.up) {
    // A port id seen before (its MAC was learnt) keeps what it was given; a new one has nothing.
    if (it == ports_.end() || it->second.id != port.port_id) {
      ports_[*endpoint] = PortState{port.port_id, port.lan, std::nullopt};
    }
  } else {
    if (it == ports_.end() || it->second.id != port.port_id) return;  // an older port
    ports_.erase(it);
  }
  work.links.insert(*endpoint);  // its link's state, its impairments, a tap's attachment
}

void Reconciler::RestoreSavedPorts(ReconcileWork& work) {
  restore_pending_ = false;
  if (!saved_ports_) return;
  std::set<std::string> running;
  for (const VmDriver::Info& info : vms_->List()) running.insert(info.name);
  std::vector<uint64_t> stale;
  int restored_count = 0;
  for (const auto& [id, port] : saved_ports_->ports()) {
    // Only ports of VMs that still run (adopted) on LANs that still exist come back; an admin
    // port (eth0) has no link in the topology.
    bool admin = port.lan == kAdminLan;
    std::optional<EndpointRef> endpoint = IdentifyPort(port);
    if (!endpoint || endpoint->is_tap() || !running.count(endpoint->vm()) ||
        (!admin && !lans_in_switch_.count(port.lan))) {
      stale.push_back(id);
      continue;
    }
    absl::StatusOr<uint64_t> restored = sw_->RestorePort(port);
    if (!restored.ok()) {
      Log(LogLevel::kWarning, absl::StrCat(endpoint->StoreKey(),
                                           ": port not restored: ", restored.status().ToString()));
      stale.push_back(id);
      continue;
    }
    ++restored_count;
    if (admin) continue;
    ports_[*endpoint] = PortState{*restored, port.lan, std::nullopt};
    work.links.insert(*endpoint);  // impairments go back on it
  }
  absl::Status erased = absl::OkStatus();
  for (uint64_t id : stale) erased.Update(saved_ports_->Erase(id));
  // Not retried: a stale line costs a failed restore at the next start, nothing more.
  Outcome("saving ports", erased, ReconcileWork());
  if (restored_count) Log(LogLevel::kInfo, absl::StrCat("restored ", restored_count, " port(s)"));
}

absl::Status Reconciler::ReconcileLan(const std::string& lan, bool deleting_pass,
                                      ReconcileWork& work) {
  std::optional<clownix::v1::LanMode> mode;
  std::vector<EndpointRef> links;
  store_->Read([&](const TopologyState& topology) {
    const clownix::v1::Lan* found = topology.FindLan(lan);
    if (!found) return;
    mode = found->mode();
    for (const std::string& key : topology.LinksOnLan(lan)) {
      if (const clownix::v1::Link* link = topology.FindLink(key)) {
        links.push_back(EndpointRef::FromProto(link->endpoint()));
      }
    }
  });
  bool in_switch = lans_in_switch_.count(lan) > 0;
  if (!deleting_pass && mode && !in_switch) {
    absl::Status s = sw_->CreateLan(lan, *mode);
    if (!s.ok() && s.code() != absl::StatusCode::kAlreadyExists) return s;
    lans_in_switch_.insert(lan);
    // What waited for the LAN (NICs of running VMs, taps) is plugged in now.
    for (const EndpointRef& endpoint : links) {
      if (!endpoint.is_tap()) work.vms.insert(endpoint.vm());
      work.links.insert(endpoint);
    }
  } else if (deleting_pass && !mode && in_switch) {
    absl::Status s = sw_->DeleteLan(lan);
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) return s;
    lans_in_switch_.erase(lan);
  }
  return absl::OkStatus();
}

void Reconciler::ReconcileVm(const std::string& name) {
  std::optional<clownix::v1::Vm> desired;
  store_->Read([&](const TopologyState& topology) {
    if (const clownix::v1::Vm* vm = topology.FindVm(name)) desired = *vm;
  });
  absl::StatusOr<VmDriver::Info> actual = vms_->Get(name);
  if (!desired) {
    pacer_.Forget(name);
    if (actual.ok()) {
      Outcome(absl::StrCat(VmWhat(name), " (deleted): kill"), IgnoreNotFound(vms_->Kill(name)),
              RetryVm(name));
    }
    return;
  }
  VmState state = desired->state();
  // NICs on LANs the switch has; the others are hot-plugged once it does (ReconcileLan).
  std::map<int, std::string> want = LabNics(*desired);
  if (!actual.ok()) {
    const bool queued = pacer_.Queued(name);
    if (state != clownix::v1::VM_STATE_DEFINED &&
        !(queued && state == clownix::v1::VM_STATE_BOOTING)) {
      pacer_.Forget(name);  // halted or deleted while it waited; a booted VM is not in the queue
      return;
    }
    // Still charged but not queued: its last run has ended and the end is on its way here (the
    // event releases the charge and marks it again).
    if (!queued && budget_->ChargeOf(name) > 0) return;
    pacer_.Want(name, static_cast<int>(desired->mem_mib()));  // Admit boots it in its turn
    return;
  }
  if (!MeantToRun(state)) {
    // STOPPING: a halt is under way and ends it. STOPPED / CRASHED but running: it goes.
    if (state != clownix::v1::VM_STATE_STOPPING) {
      Outcome(absl::StrCat(VmWhat(name), ": kill"), IgnoreNotFound(vms_->Kill(name)),
              RetryVm(name));
    }
    return;
  }
  if (actual->state != clownix::v1::VM_STATE_RUNNING) return;  // NICs are plugged once it answers
  std::map<int, std::string> have = actual->nics;
  if (desired->admin()) have.erase(0);  // the admin NIC stays as it booted
  for (const auto& [index, path] : have) {
    auto it = want.find(index);
    if (it != want.end() && it->second == path) continue;
    Outcome(absl::StrCat(name, "/eth", index, ": unplug"), vms_->DetachNic(name, index),
            RetryVm(name));
  }
  for (const auto& [index, path] : want) {
    auto it = have.find(index);
    if (it != have.end() && it->second == path) continue;
    Outcome(absl::StrCat(name, "/eth", index, ": hot-plug"),
            vms_->AttachNic(name, index, path, NicAddresses(*desired, index)), RetryVm(name));
  }
}

std::map<int, std::string> Reconciler::LabNics(const clownix::v1::Vm& vm) const {
  // NICs on LANs the switch has; the others are hot-plugged once it does (ReconcileLan).
  std::map<int, std::string> nics;
  for (const clownix::v1::Nic& nic : vm.nics()) {
    if ((nic.index() == 0 && vm.admin()) || nic.lan().empty() || !lans_in_switch_.count(nic.lan()))
      continue;
    nics[static_cast<int>(nic.index())] = sw_->ControlPath(nic.lan());
  }
  return nics;
}

void Reconciler::Admit() {
  std::vector<BootPacer::Decision> plan = pacer_.Plan();
  if (plan.empty()) return;
  std::map<std::string, std::pair<VmState, std::string>> shown;
  store_->Read([&](const TopologyState& topology) {
    for (const BootPacer::Decision& d : plan) {
      if (const clownix::v1::Vm* vm = topology.FindVm(d.vm)) {
        shown[d.vm] = {vm->state(), vm->state_reason()};
      }
    }
  });
  std::vector<std::pair<std::string, std::pair<VmState, std::string>>> reports;
  for (const BootPacer::Decision& d : plan) {
    if (d.kind == BootPacer::Decision::Kind::kStart) {
      BootVm(d.vm);
      continue;
    }
    std::pair<VmState, std::string> want = {d.kind == BootPacer::Decision::Kind::kQueued
                                                ? clownix::v1::VM_STATE_BOOTING
                                                : clownix::v1::VM_STATE_DEFINED,
                                            d.reason};
    auto it = shown.find(d.vm);
    if (it != shown.end() && it->second != want) reports.emplace_back(d.vm, std::move(want));
  }
  ReportVms(reports);
  for (const std::string& vm : pacer_.TakeTimedOut()) {
    Log(LogLevel::kWarning,
        absl::StrCat(VmWhat(vm), " has not finished booting (and its startup) in ",
                     absl::FormatDuration(pacer_.SlotTimeout()),
                     ": its boot slot goes to the next VM in the queue"));
  }
  // A boot that never answers frees its slot at its timeout: look again then.
  if (std::optional<absl::Time> at = pacer_.NextSlotTimeout(); at && *at != next_slot_check_) {
    next_slot_check_ = *at;  // once per deadline, not once per pass
    ReconcileWork again;
    again.vms.insert(plan.front().vm);
    queue_->AddAfter(std::move(again), std::max(*at - absl::Now(), absl::ZeroDuration()));
  }
}

void Reconciler::BootVm(const std::string& name) {
  std::optional<clownix::v1::Vm> desired;
  store_->Read([&](const TopologyState& topology) {
    if (const clownix::v1::Vm* vm = topology.FindVm(name)) desired = *vm;
  });
  if (!desired) {  // deleted since it was queued
    pacer_.StartFailed(name);
    return;
  }
  VmDriver::Spec spec;
  spec.name = name;
  spec.number = static_cast<int>(desired->number());
  spec.mem_mib = static_cast<int>(desired->mem_mib());
  spec.nics = LabNics(*desired);
  // Without the admin network eth0 is a lab NIC like the others (absent while unlinked).
  spec.admin = desired->admin();
  if (spec.admin) spec.nics[0] = sw_->ControlPath(kAdminLan);
  for (const auto& [index, mac] : desired->nic_macs()) spec.macs[static_cast<int>(index)] = mac;
  // The rules checked it when it was stored; a topology journaled by an older clownixd is
  // checked here.
  absl::StatusOr<common::GuestConfig> guest = GuestConfigOf(*desired);
  absl::Status s = guest.status();
  if (s.ok()) spec.guest = *std::move(guest);
  if (options_.find_image) {
    absl::StatusOr<clownix::v1::Image> image = options_.find_image(desired->image());
    if (image.ok()) {
      spec.root_fs = image->root_fs();
    } else {
      s = image.status();
    }
  }
  if (s.ok()) s = vms_->Start(spec);
  if (!s.ok()) {
    pacer_.StartFailed(name);
    // The VM's state says it; the log keeps the moment.
    Log(LogLevel::kWarning, absl::StrCat(VmWhat(name), " failed to start: ", s.ToString()));
    ReportVm(name, clownix::v1::VM_STATE_CRASHED, absl::StrCat("failed to start: ", s.message()));
  }
}

absl::Status Reconciler::ReconcileTap(const std::string& tap, const std::string& lan) {
  EndpointRef endpoint = EndpointRef::Tap(tap);
  auto it = ports_.find(endpoint);
  std::string attached = it == ports_.end() ? "" : it->second.lan;
  if (attached == lan) return absl::OkStatus();
  if (!attached.empty()) {
    absl::Status s = sw_->DetachTap(it->second.id);
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) return s;
    ports_.erase(it);
  }
  if (lan.empty() || !lans_in_switch_.count(lan)) return absl::OkStatus();
  absl::StatusOr<uint64_t> port = sw_->AttachTap(lan, tap);
  if (!port.ok()) return port.status();
  ports_[endpoint] = PortState{*port, lan, std::nullopt};
  return absl::OkStatus();
}

void Reconciler::ReconcileLink(const EndpointRef& endpoint) {
  std::optional<clownix::v1::Link> link;
  std::string tap_lan;
  store_->Read([&](const TopologyState& topology) {
    if (const clownix::v1::Link* found = topology.FindLink(endpoint.StoreKey())) link = *found;
    if (endpoint.is_tap()) {
      if (const clownix::v1::Tap* tap = topology.FindTap(endpoint.tap())) tap_lan = tap->lan();
    }
  });
  ReconcileWork retry;
  retry.links.insert(endpoint);
  if (endpoint.is_tap()) {
    Outcome(absl::StrCat("tap \"", endpoint.tap(), "\""), ReconcileTap(endpoint.tap(), tap_lan),
            retry);
  }
  if (!link) return;
  // The link is up while the switch has its endpoint's port on the link's LAN.
  auto port = ports_.find(endpoint);
  bool up = port != ports_.end() && port->second.lan == link->lan();
  if (link->up() != up) ReportLink(endpoint, up);
  if (!up) return;
  const auto& applied = port->second.applied;
  if (applied && MessageDifferencer::Equals(applied->first, link->to_lan()) &&
      MessageDifferencer::Equals(applied->second, link->from_lan())) {
    return;
  }
  absl::Status s = sw_->SetImpairment(port->second.id, link->to_lan(), link->from_lan());
  if (s.ok()) port->second.applied = std::make_pair(link->to_lan(), link->from_lan());
  // NOT_FOUND: the port went away meanwhile; its down event follows.
  Outcome(absl::StrCat(endpoint.StoreKey(), ": impairment"),
          s.code() == absl::StatusCode::kNotFound ? absl::OkStatus() : s, std::move(retry));
}

void Reconciler::Outcome(const std::string& what, const absl::Status& status, ReconcileWork retry) {
  auto it = failures_.find(what);
  if (status.ok()) {
    if (it != failures_.end()) {
      Log(LogLevel::kInfo, absl::StrCat(what, ": works again"));
      failures_.erase(it);
    }
    return;
  }
  bool transient = Transient(status) && !retry.empty();
  std::string error = status.ToString();
  if (it == failures_.end() || it->second.error != error) {
    Log(transient ? LogLevel::kWarning : LogLevel::kError,
        absl::StrCat(what, ": ", error, transient ? " (will retry)" : ""));
  }
  Failure& failure = failures_[what];
  failure.error = error;
  if (!transient) return;
  failure.delay = failure.delay == absl::ZeroDuration()
                      ? options_.retry_delay
                      : std::min(failure.delay * 2, options_.max_retry_delay);
  queue_->AddAfter(std::move(retry), failure.delay);
}

void Reconciler::Report(Mutation mutation) {
  absl::StatusOr<TopologyStore::Committed> result = store_->Mutate(std::move(mutation));
  // NOT_FOUND / FAILED_PRECONDITION: the VM or link was deleted meanwhile; nothing to report on.
  if (!result.ok() && result.status().code() != absl::StatusCode::kNotFound &&
      result.status().code() != absl::StatusCode::kFailedPrecondition) {
    Log(LogLevel::kWarning, absl::StrCat("status report refused: ", result.status().ToString()));
  }
}

void Reconciler::ReportVm(const std::string& vm, VmState state, const std::string& reason,
                          const std::optional<clownix::v1::StartupStatus>& startup) {
  Mutation m;
  m.mutable_vm_status()->set_name(vm);
  m.mutable_vm_status()->set_state(state);
  m.mutable_vm_status()->set_reason(reason);
  if (startup) *m.mutable_vm_status()->mutable_startup() = *startup;
  Report(std::move(m));
}

void Reconciler::ReportVms(
    const std::vector<std::pair<std::string, std::pair<VmState, std::string>>>& reports) {
  if (reports.empty()) return;
  // Submitted together, they share the store's group commits; then waited for, so that whoever
  // waits for the reconciler to be idle sees them.
  absl::Mutex mu;
  size_t done = 0;
  for (const auto& [vm, report] : reports) {
    Mutation m;
    m.mutable_vm_status()->set_name(vm);
    m.mutable_vm_status()->set_state(report.first);
    m.mutable_vm_status()->set_reason(report.second);
    store_->Submit(std::move(m), [&mu, &done](absl::StatusOr<TopologyStore::Committed> result) {
      // NOT_FOUND / FAILED_PRECONDITION: deleted meanwhile, as in Report; others are logged.
      if (!result.ok() && result.status().code() != absl::StatusCode::kNotFound &&
          result.status().code() != absl::StatusCode::kFailedPrecondition) {
        Log(LogLevel::kWarning,
            absl::StrCat("status report refused: ", result.status().ToString()));
      }
      absl::MutexLock lock(&mu);
      ++done;
    });
  }
  absl::MutexLock lock(&mu);
  auto all_done = [&] { return done == reports.size(); };
  mu.Await(absl::Condition(&all_done));
}

void Reconciler::ReportLink(const EndpointRef& endpoint, bool up) {
  Mutation m;
  *m.mutable_link_status()->mutable_endpoint() = endpoint.ToProto();
  m.mutable_link_status()->set_up(up);
  Report(std::move(m));
}

absl::Status Reconciler::StartVm(const std::string& vm) {
  if (stopped_) return absl::UnavailableError("clownixd is shutting down");
  VmState state = clownix::v1::VM_STATE_UNSPECIFIED;
  int64_t mem_mib = 0;
  store_->Read([&](const TopologyState& topology) {
    if (const clownix::v1::Vm* found = topology.FindVm(vm)) {
      state = found->state();
      mem_mib = found->mem_mib();
    }
  });
  if (state == clownix::v1::VM_STATE_UNSPECIFIED) {
    return absl::NotFoundError(absl::StrCat(VmWhat(vm), " does not exist"));
  }
  if (absl::Status fits = budget_->CheckCanEverFit(vm, mem_mib); !fits.ok()) return fits;
  if (MeantToRun(state) && vms_->Get(vm).ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(VmWhat(vm), " is already ", clownix::v1::VmState_Name(state)));
  }
  if (state == clownix::v1::VM_STATE_STOPPING) {
    return absl::FailedPreconditionError(absl::StrCat(VmWhat(vm), " is stopping"));
  }
  Mutation m;
  m.mutable_vm_status()->set_name(vm);
  m.mutable_vm_status()->set_state(clownix::v1::VM_STATE_DEFINED);
  m.mutable_vm_status()->set_reason("start requested");
  absl::StatusOr<TopologyStore::Committed> result = store_->Mutate(std::move(m));
  if (!result.ok()) return result.status();
  WaitIdle(result->revision);  // acted on: the VM is booting (or failed to)
  return absl::OkStatus();
}

absl::Status Reconciler::HaltVm(const std::string& vm, absl::Duration grace) {
  if (stopped_) return absl::UnavailableError("clownixd is shutting down");
  if (!vms_->Get(vm).ok()) {
    ReportVm(vm, clownix::v1::VM_STATE_STOPPED, "halted (it was not running)");
    return absl::OkStatus();
  }
  ReportVm(vm, clownix::v1::VM_STATE_STOPPING, "halt requested");
  absl::Status status = vms_->Halt(vm, grace);
  if (status.code() == absl::StatusCode::kNotFound) {
    ReportVm(vm, clownix::v1::VM_STATE_STOPPED, "halted");
    return absl::OkStatus();
  }
  if (!status.ok()) {
    // The caller gets the error; the topology must not keep saying STOPPING of a VM that runs.
    if (absl::StatusOr<VmDriver::Info> still = vms_->Get(vm); still.ok()) {
      ReportVm(vm, still->state, absl::StrCat("halt failed: ", status.message()));
    }
    return status;
  }
  WaitIdle();  // its STOPPED is in the topology
  return absl::OkStatus();
}

absl::Status Reconciler::RebootVm(const std::string& vm) {
  if (stopped_) return absl::UnavailableError("clownixd is shutting down");
  absl::Status status = vms_->Reboot(vm);
  WaitIdle();  // its BOOTING is in the topology: the reply shows it
  return status;
}

}  // namespace clownix::server
