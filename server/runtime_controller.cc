#include "server/runtime_controller.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/log.h"
#include "server/mutation_rules.h"

namespace clownix::server {
namespace {

using clownix::v1::Change;
using clownix::v1::Endpoint;
using clownix::v1::VmState;
using google::protobuf::util::MessageDifferencer;
using switchcore::SwitchClient;
namespace ctl = switchcore::ctl;

constexpr size_t kExecOutputCap = 1 << 20;

bool MeantToRun(VmState state) {
  return state == clownix::v1::VM_STATE_DEFINED || state == clownix::v1::VM_STATE_BOOTING ||
         state == clownix::v1::VM_STATE_RUNNING;
}

VmState FromVmm(vmm::VmState state) {
  switch (state) {
    case vmm::VmState::kBooting:
      return clownix::v1::VM_STATE_BOOTING;
    case vmm::VmState::kRunning:
      return clownix::v1::VM_STATE_RUNNING;
    case vmm::VmState::kStopped:
      return clownix::v1::VM_STATE_STOPPED;
    case vmm::VmState::kCrashed:
      return clownix::v1::VM_STATE_CRASHED;
  }
  return clownix::v1::VM_STATE_CRASHED;
}

ctl::Impairment ToSwitch(const clownix::v1::Impairment& in) {
  auto ppm = [](double percent) { return static_cast<uint32_t>(std::lround(percent * 10000)); };
  ctl::Impairment out{};
  out.delay_us = in.delay_us();
  out.jitter_us = in.jitter_us();
  out.loss_ppm = ppm(in.loss_percent());
  out.duplicate_ppm = ppm(in.duplicate_percent());
  out.corrupt_ppm = ppm(in.corrupt_percent());
  out.reorder_ppm = ppm(in.reorder_percent());
  out.rate_bps = in.rate_kbps() * 1000;
  return out;
}

// Runs a program (no shell) and returns OK when it exits 0. `quiet`: its stderr is dropped.
absl::Status Run(const std::vector<std::string>& argv, bool quiet = false) {
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    if (quiet) {
      int null = open("/dev/null", O_WRONLY);
      if (null >= 0) dup2(null, STDERR_FILENO);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  std::string command;
  for (const auto& a : argv) absl::StrAppend(&command, command.empty() ? "" : " ", a);
  return absl::UnavailableError(absl::StrCat("`", command, "` failed (status ", status, ")"));
}

// A console subscription of vmm, ended when the attachment goes away.
class VmmConsole final : public MachineRuntime::ConsoleAttachment {
 public:
  VmmConsole(vmm::VmManager* vmm, std::string vm, int64_t subscription)
      : vmm_(vmm), vm_(std::move(vm)), subscription_(subscription) {}
  ~VmmConsole() override { vmm_->UnsubscribeConsole(subscription_); }
  absl::Status Write(const std::string& bytes) override { return vmm_->WriteConsole(vm_, bytes); }

 private:
  vmm::VmManager* const vmm_;
  const std::string vm_;
  const int64_t subscription_;
};

}  // namespace

RuntimeController::RuntimeController(TopologyStore* store, Options options)
    : store_(store), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<RuntimeController>> RuntimeController::Start(TopologyStore* store,
                                                                           Options options) {
  std::unique_ptr<RuntimeController> controller(new RuntimeController(store, std::move(options)));
  if (absl::Status s = controller->Init(); !s.ok()) {
    controller->Stop();
    return s;
  }
  return controller;
}

namespace {

// The switch of this clownixd start gets incarnations no earlier start used, so the port ids of
// restored ports (saved_ports.h) never collide with new ones. 4096 switch restarts per start.
uint32_t NextSwitchIncarnation(const std::string& work_dir) {
  std::string path = work_dir + "/switch.incarnation";
  uint32_t starts = 0;
  if (FILE* f = fopen(path.c_str(), "r")) {
    if (fscanf(f, "%u", &starts) != 1) starts = 0;
    fclose(f);
  }
  ++starts;
  if (FILE* f = fopen(path.c_str(), "w")) {
    fprintf(f, "%u\n", starts);
    fclose(f);
  }
  return (starts % 4096) * 4096;
}

}  // namespace

absl::Status RuntimeController::Init() {
  saved_ports_ = std::make_unique<SavedPorts>(options_.work_dir + "/ports.saved");
  saved_ports_->Load();
  SwitchClient::Options switch_options;
  switch_options.first_incarnation = NextSwitchIncarnation(options_.work_dir);
  switch_options.switchcore_path = options_.switchcore_path;
  switch_options.work_dir = options_.work_dir;
  switch_options.on_port_event = [this](const SwitchClient::PortEvent& event) {
    Work work;
    work.port_events.push_back(event);
    MarkDirty(std::move(work));
  };
  switch_options.on_log = [](const std::string& line) {
    Log(LogLevel::kWarning, absl::StrCat("switch: ", line));
  };
  absl::StatusOr<std::unique_ptr<SwitchClient>> sw = SwitchClient::Start(switch_options);
  if (!sw.ok()) return sw.status();
  switch_ = *std::move(sw);
  if (absl::Status s = switch_->WaitReady(absl::Seconds(10)); !s.ok()) return s;
  if (absl::Status s = switch_->CreateLan(kAdminLan); !s.ok()) return s;

  vmm::VmManagerOptions vmm_options = options_.vmm;
  vmm_options.on_state_change = [this](const vmm::VmEvent& event) {
    Work work;
    work.vm_events.push_back(event);
    MarkDirty(std::move(work));
  };
  absl::StatusOr<std::unique_ptr<vmm::VmManager>> manager =
      vmm::VmManager::Create(std::move(vmm_options));
  if (!manager.ok()) return manager.status();
  vmm_ = *std::move(manager);
  absl::StatusOr<std::vector<std::string>> adopted = vmm_->Adopt();
  if (!adopted.ok()) return adopted.status();
  if (!adopted->empty()) {
    Log(LogLevel::kInfo, absl::StrCat("adopted ", adopted->size(), " running VM(s)"));
  }

  if (!options_.ip_admin.empty()) {
    if (absl::Status s = SetUpAdminTap(); !s.ok()) return s;
  }
  for (uint32_t i = 0; i < options_.num_tap; ++i) {
    Mutation create;
    create.mutable_create_tap()->mutable_tap()->set_name(absl::StrCat("tap", i));
    absl::StatusOr<TopologyStore::Committed> r = store_->Mutate(create);
    if (!r.ok() && r.status().code() != absl::StatusCode::kAlreadyExists) return r.status();
  }

  // VMs meant to run that are not running (clownixd or the host went down meanwhile) boot again.
  Work all;
  std::vector<std::string> restart, halted;
  store_->Read([&](const TopologyState& state) {
    for (const auto& [name, vm] : state.vms()) {
      all.vms.insert(name);
      bool running = vmm_->Get(name).ok();
      if (!running && (vm.state() == clownix::v1::VM_STATE_BOOTING ||
                       vm.state() == clownix::v1::VM_STATE_RUNNING)) {
        restart.push_back(name);
      } else if (!running && vm.state() == clownix::v1::VM_STATE_STOPPING) {
        halted.push_back(name);  // a halt was under way: it is done
      }
    }
    for (const auto& [name, lan] : state.lans()) all.lans.insert(name);
    for (const auto& [key, link] : state.links()) all.links.insert(key);
    for (const auto& [name, tap] : state.taps()) all.links.insert(absl::StrCat("tap:", name));
  });
  for (const std::string& name : restart) {
    ReportVm(name, clownix::v1::VM_STATE_DEFINED, "restarting: it was not running at start-up");
  }
  for (const std::string& name : halted) {
    ReportVm(name, clownix::v1::VM_STATE_STOPPED, "halted while clownixd was down");
  }
  // Also every running VM the topology no longer has (deleted while clownixd was down).
  for (const vmm::VmInfo& info : vmm_->List()) all.vms.insert(info.spec.name);

  subscribed_ = true;
  store_->hub().Subscribe(this, store_->revision());
  MarkDirty(std::move(all));
  loop_ = std::thread([this] { Loop(); });
  WaitIdle();
  return absl::OkStatus();
}

absl::Status RuntimeController::SetUpAdminTap() {
  absl::StatusOr<uint64_t> port = switch_->AttachTap(kAdminLan, options_.admin_tap);
  if (!port.ok()) return port.status();
  const std::string& tap = options_.admin_tap;
  std::string address = absl::StrCat(options_.ip_admin, "/8");
  std::vector<std::string> ip = {"ip"};
  const std::string& netns = options_.admin_netns;
  if (!netns.empty()) {
    // A name from `ip netns add`, or the pid of a process inside the namespace.
    if (absl::Status s = Run({"ip", "link", "set", tap, "netns", netns}); !s.ok()) return s;
    bool by_pid = netns.find_first_not_of("0123456789") == std::string::npos;
    ip = by_pid ? std::vector<std::string>{"nsenter", "-t", netns, "-n", "ip"}
                : std::vector<std::string>{"ip", "-n", netns};
  }
  auto with = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = ip;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  // An address left from an earlier run is fine; a missing one is added.
  (void)Run(with({"addr", "del", address, "dev", tap}), /*quiet=*/true);
  if (absl::Status s = Run(with({"addr", "add", address, "dev", tap})); !s.ok()) return s;
  return Run(with({"link", "set", tap, "up"}));
}

RuntimeController::~RuntimeController() { Stop(); }

void RuntimeController::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (subscribed_) store_->hub().Unsubscribe(this);
  if (loop_.joinable()) loop_.join();
  if (vmm_) {
    std::vector<std::thread> killers;
    for (const vmm::VmInfo& info : vmm_->List()) {
      killers.emplace_back([this, name = info.spec.name] { (void)vmm_->Kill(name); });
    }
    for (auto& t : killers) t.join();
    // vmm_ itself lives on until the destructor: a Machines call still in flight fails cleanly
    // (the VM is gone) instead of touching a destroyed manager.
  }
  if (switch_) switch_->Shutdown();
}

void RuntimeController::OnHubShutdown() { subscribed_ = false; }

void RuntimeController::OnEvents(const std::vector<EventPtr>& events) {
  Work work;
  for (const EventPtr& event : events) {
    for (const Change& change : event->changes()) {
      switch (change.object_case()) {
        case Change::kVm:
          work.vms.insert(change.vm().name());
          break;
        case Change::kLan:
          work.lans.insert(change.lan().name());
          break;
        case Change::kTap:
          work.links.insert(absl::StrCat("tap:", change.tap().name()));
          break;
        case Change::kLink:
          work.links.insert(EndpointKey(change.link().endpoint()));
          if (change.link().endpoint().has_nic()) {
            work.vms.insert(change.link().endpoint().nic().vm());
          }
          break;
        case Change::OBJECT_NOT_SET:
          break;
      }
    }
  }
  MarkDirty(std::move(work));
}

void RuntimeController::MarkDirty(Work work) {
  absl::MutexLock lock(&mu_);
  pending_.vms.merge(work.vms);
  pending_.lans.merge(work.lans);
  pending_.links.merge(work.links);
  for (auto& e : work.vm_events) pending_.vm_events.push_back(std::move(e));
  for (auto& e : work.port_events) pending_.port_events.push_back(std::move(e));
}

void RuntimeController::WaitIdle() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || (!busy_ && pending_.empty());
  };
  mu_.Await(absl::Condition(&idle));
}

void RuntimeController::Loop() {
  while (true) {
    Work work;
    {
      absl::MutexLock lock(&mu_);
      busy_ = false;
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !pending_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      std::swap(work, pending_);
      busy_ = true;
    }
    Process(work);
  }
}

void RuntimeController::Process(Work& work) {
  // What the backends saw comes first, so rules below read an up-to-date topology.
  for (const vmm::VmEvent& event : work.vm_events) HandleVmEvent(event, work);
  for (const auto& event : work.port_events) HandlePortEvent(event, work);
  for (const std::string& lan : work.lans) ReconcileLan(lan, /*deleting_pass=*/false);
  if (restore_pending_) RestoreSavedPorts(work);
  for (const std::string& vm : work.vms) ReconcileVm(vm);
  for (const std::string& key : work.links) ReconcileLink(key);
  for (const std::string& lan : work.lans) ReconcileLan(lan, /*deleting_pass=*/true);
}

void RuntimeController::Report(Mutation mutation) {
  absl::StatusOr<TopologyStore::Committed> result = store_->Mutate(std::move(mutation));
  if (!result.ok() && result.status().code() != absl::StatusCode::kNotFound &&
      result.status().code() != absl::StatusCode::kFailedPrecondition) {
    Log(LogLevel::kWarning, absl::StrCat("status report refused: ", result.status().ToString()));
  }
}

void RuntimeController::ReportVm(const std::string& vm, VmState state, const std::string& reason) {
  Mutation m;
  m.mutable_vm_status()->set_name(vm);
  m.mutable_vm_status()->set_state(state);
  m.mutable_vm_status()->set_reason(reason);
  Report(std::move(m));
}

void RuntimeController::ReportLink(const Endpoint& endpoint, bool up) {
  Mutation m;
  *m.mutable_link_status()->mutable_endpoint() = endpoint;
  m.mutable_link_status()->set_up(up);
  Report(std::move(m));
}

void RuntimeController::HandleVmEvent(const vmm::VmEvent& event, Work& work) {
  VmState state = FromVmm(event.state);
  std::vector<Endpoint> links;
  bool known = false;
  store_->Read([&](const TopologyState& topology) {
    const clownix::v1::Vm* vm = topology.FindVm(event.name);
    if (!vm) return;
    known = true;
    for (const auto& nic : vm->nics()) {
      if (nic.lan().empty() || !nic.link_up()) continue;
      Endpoint e;
      e.mutable_nic()->set_vm(event.name);
      e.mutable_nic()->set_index(nic.index());
      links.push_back(e);
    }
  });
  if (!known) return;
  ReportVm(event.name, state, event.reason);
  if (state == clownix::v1::VM_STATE_STOPPED || state == clownix::v1::VM_STATE_CRASHED) {
    // Its ports are gone with it; the switch says so too, whichever comes first.
    for (const Endpoint& e : links) ReportLink(e, false);
  }
  work.vms.insert(event.name);
}

std::string RuntimeController::KeyFromMac(const std::array<uint8_t, 6>& mac) const {
  // 02:00:AA:BB:00:EE with AA, BB, EE two decimal digits each (seed rule).
  auto decimal = [](uint8_t byte, int* out) {
    int hi = byte >> 4, lo = byte & 0xf;
    if (hi > 9 || lo > 9) return false;
    *out = hi * 10 + lo;
    return true;
  };
  int high, low, eth;
  if (mac[0] != 0x02 || mac[1] != 0x00 || mac[4] != 0x00 || !decimal(mac[2], &high) ||
      !decimal(mac[3], &low) || !decimal(mac[5], &eth)) {
    return "";
  }
  uint32_t number = high * 100 + low;
  std::string key;
  store_->Read([&](const TopologyState& topology) {
    for (const auto& [name, vm] : topology.vms()) {
      if (vm.number() == number) {
        key = absl::StrCat(name, "/eth", eth);
        return;
      }
    }
  });
  return key;
}

std::string RuntimeController::KeyFromPid(const SwitchClient::PortInfo& port) const {
  const auto& path = port.vm_address.addr.sun_path;
  if (path[0] != '\0') return "";
  int pid;
  memcpy(&pid, path + 4, sizeof(pid));
  for (const vmm::VmInfo& info : vmm_->List()) {
    if (info.pid == pid) return info.spec.name;
  }
  return "";
}

std::string RuntimeController::KeyFromVmAddress(const SwitchClient::PortInfo& port) const {
  // UML binds its NIC's data socket to an abstract name {char 0; int pid; int usecs} made in the
  // kernel's context: the pid is the VM's main pid, known to vmm. With the LAN, that names the
  // NIC, unless the VM has two NICs on the same LAN (then its MAC, once learnt, does).
  std::string vm = KeyFromPid(port);
  if (vm.empty()) return "";
  std::string key;
  int matches = 0;
  store_->Read([&](const TopologyState& topology) {
    const clownix::v1::Vm* found = topology.FindVm(vm);
    if (!found) return;
    for (const auto& nic : found->nics()) {
      if (nic.index() != 0 && nic.lan() == port.lan) {
        key = absl::StrCat(vm, "/eth", nic.index());
        ++matches;
      }
    }
  });
  return matches == 1 ? key : "";
}

void RuntimeController::HandlePortEvent(const SwitchClient::PortEvent& event, Work& work) {
  const SwitchClient::PortInfo& port = event.port;
  if (port.kind == ctl::PortKind::kVm) {
    absl::Status saved = event.up ? saved_ports_->Put(port) : saved_ports_->Erase(port.port_id);
    if (!saved.ok()) Log(LogLevel::kWarning, std::string(saved.message()));
  }
  if (port.lan == kAdminLan) return;
  std::string key;
  if (port.kind == ctl::PortKind::kTap) {
    key = absl::StrCat("tap:", port.tap_name);
  } else if (port.mac_known) {
    key = KeyFromMac(port.mac);
  } else {
    key = KeyFromVmAddress(port);
  }
  if (key.empty()) return;
  if (event.up) {
    ports_[key] = PortState{port.port_id, port.lan, true};
  } else {
    auto it = ports_.find(key);
    if (it == ports_.end() || it->second.port_id != port.port_id) return;  // an older port
    ports_.erase(it);
    applied_impairments_.erase(key);
  }
  Endpoint endpoint;
  bool report = false;
  store_->Read([&](const TopologyState& topology) {
    const clownix::v1::Link* link = topology.FindLink(key);
    if (link && link->lan() == port.lan && link->up() != event.up) {
      endpoint = link->endpoint();
      report = true;
    }
  });
  if (report) ReportLink(endpoint, event.up);
  work.links.insert(key);  // impairments follow the port
}

void RuntimeController::RestoreSavedPorts(Work& work) {
  restore_pending_ = false;
  std::vector<uint64_t> stale;
  int restored_count = 0;
  for (const auto& [id, port] : saved_ports_->ports()) {
    // Only ports of VMs that still run (adopted) on LANs that still exist come back; an admin
    // port (eth0) has no link in the topology, so it is named by its MAC or its VM's pid alone.
    bool admin = port.lan == kAdminLan;
    std::string key;
    if (port.mac_known) {
      key = KeyFromMac(port.mac);
    } else if (admin) {
      key = KeyFromPid(port) + "/eth0";
    } else {
      key = KeyFromVmAddress(port);
    }
    std::string vm = key.substr(0, key.find('/'));
    if (vm.empty() || (!admin && !lans_in_switch_.count(port.lan)) || !vmm_->Get(vm).ok()) {
      stale.push_back(id);
      continue;
    }
    absl::StatusOr<uint64_t> restored = switch_->RestorePort(port);
    if (!restored.ok()) {
      Log(LogLevel::kWarning,
          absl::StrCat(key, ": port not restored: ", restored.status().ToString()));
      stale.push_back(id);
      continue;
    }
    ++restored_count;
    if (admin) continue;
    ports_[key] = PortState{*restored, port.lan, true};
    work.links.insert(key);  // impairments go back on it
  }
  for (uint64_t id : stale) (void)saved_ports_->Erase(id);
  if (restored_count) Log(LogLevel::kInfo, absl::StrCat("restored ", restored_count, " port(s)"));
}

void RuntimeController::ReconcileLan(const std::string& lan, bool deleting_pass) {
  std::optional<clownix::v1::LanMode> mode;
  store_->Read([&](const TopologyState& topology) {
    if (const auto* found = topology.FindLan(lan)) mode = found->mode();
  });
  bool in_switch = lans_in_switch_.count(lan) > 0;
  if (!deleting_pass && mode && !in_switch) {
    ctl::LanMode switch_mode =
        *mode == clownix::v1::LAN_MODE_HUB ? ctl::LanMode::kHub : ctl::LanMode::kSwitch;
    absl::Status s = switch_->CreateLan(lan, switch_mode);
    if (s.ok() || s.code() == absl::StatusCode::kAlreadyExists) {
      lans_in_switch_.insert(lan);
    } else {
      Log(LogLevel::kError, absl::StrCat("lan \"", lan, "\": ", s.ToString()));
    }
  } else if (deleting_pass && !mode && in_switch) {
    absl::Status s = switch_->DeleteLan(lan);
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
      Log(LogLevel::kError, absl::StrCat("delete lan \"", lan, "\": ", s.ToString()));
    }
    lans_in_switch_.erase(lan);
  }
}

void RuntimeController::ReconcileVm(const std::string& name) {
  std::optional<clownix::v1::Vm> desired;
  store_->Read([&](const TopologyState& topology) {
    if (const auto* vm = topology.FindVm(name)) desired = *vm;
  });
  absl::StatusOr<vmm::VmInfo> actual = vmm_->Get(name);
  if (!desired) {
    if (actual.ok()) (void)vmm_->Kill(name);
    return;
  }
  VmState state = desired->state();
  if (!actual.ok()) {
    if (state != clownix::v1::VM_STATE_DEFINED) return;
    vmm::VmSpec spec;
    spec.name = name;
    spec.number = static_cast<int>(desired->number());
    spec.mem_mib = static_cast<int>(desired->mem_mib());
    spec.nics.push_back({0, switch_->ControlPath(kAdminLan)});
    for (const auto& nic : desired->nics()) {
      if (nic.index() == 0 || nic.lan().empty()) continue;
      spec.nics.push_back({static_cast<int>(nic.index()), switch_->ControlPath(nic.lan())});
    }
    if (absl::Status s = vmm_->Start(spec); !s.ok()) {
      ReportVm(name, clownix::v1::VM_STATE_CRASHED, absl::StrCat("failed to start: ", s.message()));
    }
    return;
  }
  if (!MeantToRun(state)) {
    if (state != clownix::v1::VM_STATE_STOPPING) (void)vmm_->Kill(name);
    return;
  }
  if (actual->state != vmm::VmState::kRunning) return;  // NICs are plugged once it answers
  std::map<int, std::string> want, have;
  for (const auto& nic : desired->nics()) {
    if (nic.index() == 0 || nic.lan().empty()) continue;
    want[static_cast<int>(nic.index())] = switch_->ControlPath(nic.lan());
  }
  for (const vmm::NicSpec& nic : actual->spec.nics) {
    if (nic.index != 0) have[nic.index] = nic.ctl_path;
  }
  for (const auto& [index, path] : have) {
    auto it = want.find(index);
    if (it != want.end() && it->second == path) continue;
    if (absl::Status s = vmm_->DetachNic(name, index); !s.ok()) {
      Log(LogLevel::kWarning, absl::StrCat(name, "/eth", index, ": unplug: ", s.ToString()));
    }
  }
  for (const auto& [index, path] : want) {
    auto it = have.find(index);
    if (it != have.end() && it->second == path) continue;
    if (absl::Status s = vmm_->AttachNic(name, {index, path}); !s.ok()) {
      Log(LogLevel::kWarning, absl::StrCat(name, "/eth", index, ": hot-plug: ", s.ToString()));
    }
  }
}

void RuntimeController::ReconcileLink(const std::string& key) {
  std::optional<clownix::v1::Link> link;
  std::string tap_lan;
  bool is_tap = key.rfind("tap:", 0) == 0;
  std::string tap = is_tap ? key.substr(4) : "";
  store_->Read([&](const TopologyState& topology) {
    if (const auto* found = topology.FindLink(key)) link = *found;
    if (is_tap) {
      if (const auto* t = topology.FindTap(tap)) tap_lan = t->lan();
    }
  });
  if (is_tap) {
    auto current = tap_lans_.find(tap);
    std::string attached = current == tap_lans_.end() ? "" : current->second;
    if (attached != tap_lan) {
      if (!attached.empty()) {
        (void)switch_->DetachTap(tap_ports_[tap]);
        tap_ports_.erase(tap);
        tap_lans_.erase(tap);
        ports_.erase(key);
        applied_impairments_.erase(key);
      }
      if (!tap_lan.empty()) {
        absl::StatusOr<uint64_t> port = switch_->AttachTap(tap_lan, tap);
        if (port.ok()) {
          tap_ports_[tap] = *port;
          tap_lans_[tap] = tap_lan;
          ports_[key] = PortState{*port, tap_lan, true};
        } else {
          Log(LogLevel::kError, absl::StrCat("tap \"", tap, "\": ", port.status().ToString()));
        }
      }
    }
    if (link && link->up() != (tap_lans_.count(tap) > 0)) {
      ReportLink(link->endpoint(), tap_lans_.count(tap) > 0);
    }
  }
  if (!link) return;
  auto port = ports_.find(key);
  if (port == ports_.end() || port->second.lan != link->lan()) return;
  auto applied = applied_impairments_.find(key);
  bool same = applied != applied_impairments_.end() &&
              MessageDifferencer::Equals(applied->second.first, link->to_lan()) &&
              MessageDifferencer::Equals(applied->second.second, link->from_lan());
  if (same) return;
  absl::Status to = switch_->SetImpairment(port->second.port_id, ctl::Direction::kIngress,
                                           ToSwitch(link->to_lan()));
  absl::Status from = switch_->SetImpairment(port->second.port_id, ctl::Direction::kEgress,
                                             ToSwitch(link->from_lan()));
  if (to.ok() && from.ok()) {
    applied_impairments_[key] = {link->to_lan(), link->from_lan()};
  } else {
    Log(LogLevel::kError, absl::StrCat(key, ": impairment: ", (to.ok() ? from : to).ToString()));
  }
}

absl::Status RuntimeController::Start(const std::string& vm) {
  VmState state = clownix::v1::VM_STATE_UNSPECIFIED;
  store_->Read([&](const TopologyState& topology) {
    if (const auto* found = topology.FindVm(vm)) state = found->state();
  });
  if (MeantToRun(state) && vmm_->Get(vm).ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("vm \"", vm, "\" is already ", clownix::v1::VmState_Name(state)));
  }
  if (state == clownix::v1::VM_STATE_STOPPING) {
    return absl::FailedPreconditionError(absl::StrCat("vm \"", vm, "\" is stopping"));
  }
  Mutation m;
  m.mutable_vm_status()->set_name(vm);
  m.mutable_vm_status()->set_state(clownix::v1::VM_STATE_DEFINED);
  m.mutable_vm_status()->set_reason("start requested");
  absl::StatusOr<TopologyStore::Committed> result = store_->Mutate(std::move(m));
  if (!result.ok()) return result.status();
  WaitIdle();  // the controller has acted on it: the VM is booting (or failed to)
  return absl::OkStatus();
}

absl::Status RuntimeController::Halt(const std::string& vm, absl::Duration grace) {
  if (!vmm_->Get(vm).ok()) {
    ReportVm(vm, clownix::v1::VM_STATE_STOPPED, "halted (it was not running)");
    return absl::OkStatus();
  }
  ReportVm(vm, clownix::v1::VM_STATE_STOPPING, "halt requested");
  absl::Status status = vmm_->Halt(vm, grace);
  if (status.code() == absl::StatusCode::kNotFound) {
    ReportVm(vm, clownix::v1::VM_STATE_STOPPED, "halted");
    return absl::OkStatus();
  }
  WaitIdle();  // its kStopped event is in the topology
  return status;
}

absl::Status RuntimeController::Reboot(const std::string& vm) {
  absl::Status status = vmm_->Reboot(vm);
  WaitIdle();  // its BOOTING is in the topology: the reply shows it
  return status;
}

absl::StatusOr<clownix::v1::ExecResponse> RuntimeController::Exec(const std::string& vm,
                                                                  const std::string& command,
                                                                  absl::Duration timeout) {
  absl::StatusOr<vmm::ExecResult> result = vmm_->Exec(vm, command, timeout, kExecOutputCap);
  if (!result.ok()) return result.status();
  clownix::v1::ExecResponse response;
  response.set_exit_code(result->exit_code);
  response.set_output(result->output);
  response.set_truncated(result->truncated());
  return response;
}

absl::StatusOr<std::unique_ptr<MachineRuntime::ConsoleAttachment>> RuntimeController::AttachConsole(
    const std::string& vm, std::function<void(const std::string&)> on_output) {
  absl::StatusOr<int64_t> subscription = vmm_->SubscribeConsole(
      vm, [on_output = std::move(on_output)](absl::string_view bytes) {
        on_output(std::string(bytes));
      });
  if (!subscription.ok()) return subscription.status();
  return std::unique_ptr<ConsoleAttachment>(new VmmConsole(vmm_.get(), vm, *subscription));
}

absl::StatusOr<clownix::v1::LanStats> RuntimeController::GetLanStats(const std::string& lan) {
  clownix::v1::LanStats stats;
  stats.set_lan(lan);
  for (const SwitchClient::PortInfo& port : switch_->Ports()) {
    if (port.lan != lan) continue;
    clownix::v1::PortStats* out = stats.add_ports();
    if (port.kind == ctl::PortKind::kTap) {
      out->mutable_endpoint()->set_tap(port.tap_name);
    } else if (port.mac_known) {
      out->set_mac(absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", port.mac[0], port.mac[1],
                                   port.mac[2], port.mac[3], port.mac[4], port.mac[5]));
      std::string key = KeyFromMac(port.mac);
      size_t slash = key.find("/eth");
      uint32_t index = 0;
      if (slash != std::string::npos && absl::SimpleAtoi(key.substr(slash + 4), &index)) {
        out->mutable_endpoint()->mutable_nic()->set_vm(key.substr(0, slash));
        out->mutable_endpoint()->mutable_nic()->set_index(index);
      }
    }
    absl::StatusOr<SwitchClient::Counters> counters = switch_->ReadCounters(port.port_id);
    out->set_up(counters.ok());
    if (!counters.ok()) continue;
    out->set_rx_frames(counters->rx_frames);
    out->set_rx_bytes(counters->rx_bytes);
    out->set_tx_frames(counters->tx_frames);
    out->set_tx_bytes(counters->tx_bytes);
    const auto& d = counters->drops;
    out->set_drops_malformed(d[ctl::kDropTooShort] + d[ctl::kDropTooLong] + d[ctl::kDropBadSource]);
    out->set_drops_queue_full(d[ctl::kDropQueueFull] + d[ctl::kDropPeerGone] + d[ctl::kDropTapError]);
    out->set_drops_impairment(d[ctl::kDropImpairLoss] + d[ctl::kDropImpairQueue]);
  }
  return stats;
}

}  // namespace clownix::server
