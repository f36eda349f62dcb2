// Unit tests of the reconciler over fake backends: boots, crashes, clownixd and switch restarts,
// adoption, partial failures, hot-plug, taps and impairments, without UML or a switch.
#include "server/reconciler.h"

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/testing/fake_switch_driver.h"
#include "server/testing/fake_vm_driver.h"

namespace clownix::server {
namespace {

using clownix::v1::VmState;
using testing::FakeSwitchDriver;
using testing::FakeVmDriver;

constexpr absl::Duration kWait = absl::Seconds(30);  // a deadline, never a sleep

std::string FreshDir() {
  std::string base = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
  std::string dir =
      base + "/reconciler-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::string cmd = "rm -rf '" + dir + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
  return dir;
}

// UML's data address of a NIC of the VM whose main pid is `pid`: {char 0; int pid; int usecs}.
switchcore::DataAddress UmlAddress(int pid, int usecs = 1) {
  switchcore::DataAddress address{};
  address.addr.sun_family = AF_UNIX;
  std::memcpy(address.addr.sun_path + 4, &pid, sizeof(pid));
  std::memcpy(address.addr.sun_path + 8, &usecs, sizeof(usecs));
  return address;
}

// The seed's MAC of VM number `vm`, interface `eth` (two decimal digits a byte).
std::array<uint8_t, 6> Mac(int vm, int eth) {
  auto bcd = [](int n) { return static_cast<uint8_t>((n / 10) << 4 | (n % 10)); };
  return {0x02, 0x00, bcd(vm / 100), bcd(vm % 100), 0x00, bcd(eth)};
}

clownix::v1::Endpoint Nic(const std::string& vm, int index) {
  return EndpointRef::Nic(vm, index).ToProto();
}
clownix::v1::Endpoint TapEndpoint(const std::string& tap) {
  return EndpointRef::Tap(tap).ToProto();
}

Mutation CreateLan(const std::string& name) {
  Mutation m;
  m.mutable_create_lan()->mutable_lan()->set_name(name);
  return m;
}
Mutation CreateVm(const std::string& name, int nics = 3) {
  Mutation m;
  m.mutable_create_vm()->mutable_vm()->set_name(name);
  m.mutable_create_vm()->mutable_vm()->set_nic_count(nics);
  return m;
}
Mutation CreateVmWithoutAdmin(const std::string& name, int nics = 3) {
  Mutation m = CreateVm(name, nics);
  m.mutable_create_vm()->mutable_vm()->set_admin(false);
  return m;
}
Mutation DeleteVm(const std::string& name) {
  Mutation m;
  m.mutable_delete_vm()->set_name(name);
  return m;
}
Mutation CreateTap(const std::string& name) {
  Mutation m;
  m.mutable_create_tap()->mutable_tap()->set_name(name);
  return m;
}
Mutation Connect(const clownix::v1::Endpoint& endpoint, const std::string& lan) {
  Mutation m;
  *m.mutable_connect()->mutable_endpoint() = endpoint;
  m.mutable_connect()->set_lan(lan);
  return m;
}
Mutation Disconnect(const clownix::v1::Endpoint& endpoint) {
  Mutation m;
  *m.mutable_disconnect()->mutable_endpoint() = endpoint;
  return m;
}
Mutation Delay(const clownix::v1::Endpoint& endpoint, uint32_t delay_us) {
  Mutation m;
  *m.mutable_set_impairment()->mutable_endpoint() = endpoint;
  m.mutable_set_impairment()->mutable_to_lan()->set_delay_us(delay_us);
  return m;
}
Mutation Status(const std::string& vm, VmState state) {
  Mutation m;
  m.mutable_vm_status()->set_name(vm);
  m.mutable_vm_status()->set_state(state);
  return m;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcilerTest()
      : vms_([this](const VmDriver::Event& e) { queue_->AddVmEvent(e); }),
        queue_(std::make_unique<ReconcileQueue>()),
        sw_(NewSwitch()) {}

  void SetUp() override {
    dir_ = FreshDir();
    TopologyStore::Options options;
    options.work_dir = dir_;
    absl::StatusOr<std::unique_ptr<TopologyStore>> store = TopologyStore::Create(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void TearDown() override {
    if (reconciler_) reconciler_->Stop();
    reconciler_.reset();
    store_->Shutdown();
  }

  std::unique_ptr<FakeSwitchDriver> NewSwitch() {
    return std::make_unique<FakeSwitchDriver>(
        [this](const SwitchDriver::PortEvent& e) { queue_->AddPortEvent(e); });
  }

  // A reconciler over the store and the fakes, as clownixd makes one at start.
  void StartReconciler() {
    Reconciler::Options options;
    options.saved_ports_path = dir_ + "/ports.saved";
    options.retry_delay = absl::Milliseconds(1);
    options.max_retry_delay = absl::Milliseconds(10);
    options.find_image = find_image_;
    options.budget = budget_.get();
    options.pacing.max_booting = max_booting_;
    reconciler_ = Reconciler::Create(store_.get(), queue_.get(), &vms_, sw_.get(), options);
  }

  // clownixd dies and comes back: its reconciler and its switch are new; the VMs run on.
  void RestartClownixd() {
    reconciler_->Stop();
    reconciler_.reset();
    queue_ = std::make_unique<ReconcileQueue>();
    sw_ = NewSwitch();
    StartReconciler();
  }

  // Commits a mutation and waits until the reconciler has acted on it.
  void Apply(Mutation mutation) {
    absl::StatusOr<TopologyStore::Committed> result = store_->Mutate(std::move(mutation));
    ASSERT_TRUE(result.ok()) << result.status();
    if (reconciler_) reconciler_->WaitIdle(result->revision);
  }

  clownix::v1::Vm Vm(const std::string& name) const {
    clownix::v1::Vm vm;
    store_->Read([&](const TopologyState& topology) {
      if (const clownix::v1::Vm* found = topology.FindVm(name)) vm = *found;
    });
    return vm;
  }
  std::optional<clownix::v1::Link> Link(const clownix::v1::Endpoint& endpoint) const {
    std::optional<clownix::v1::Link> link;
    store_->Read([&](const TopologyState& topology) {
      if (const clownix::v1::Link* found = topology.FindLink(EndpointKey(endpoint))) {
        link = *found;
      }
    });
    return link;
  }
  bool LinkUp(const clownix::v1::Endpoint& endpoint) const {
    std::optional<clownix::v1::Link> link = Link(endpoint);
    return link && link->up();
  }

  // VM `name`'s NIC `eth` connects to the switch on `lan`, its MAC learnt (or not yet).
  uint64_t PlugPort(const std::string& name, int eth, const std::string& lan,
                    bool mac_known = true) {
    absl::StatusOr<VmDriver::Info> info = vms_.Get(name);
    EXPECT_TRUE(info.ok()) << info.status();
    std::optional<std::array<uint8_t, 6>> mac;
    if (mac_known) mac = Mac(static_cast<int>(Vm(name).number()), eth);
    uint64_t id = sw_->ConnectVm(lan, UmlAddress(info.ok() ? info->pid : 0, eth), mac);
    reconciler_->WaitIdle();
    return id;
  }

  // VM "a" running with eth1 on LAN "blue", its port up.
  uint64_t RunningVmOnBlue() {
    Apply(CreateLan("blue"));
    Apply(CreateVm("a"));
    Apply(Connect(Nic("a", 1), "blue"));
    return PlugPort("a", 1, "blue");
  }

  std::string dir_;
  std::unique_ptr<TopologyStore> store_;
  FakeVmDriver vms_;
  std::unique_ptr<ReconcileQueue> queue_;
  std::unique_ptr<FakeSwitchDriver> sw_;
  std::unique_ptr<Reconciler> reconciler_;
  std::function<absl::StatusOr<clownix::v1::Image>(const std::string&)> find_image_;
  std::unique_ptr<MemoryBudget> budget_;  // none: no limit
  int max_booting_ = 0;
};

// ---- Memory budget and boot pacing (issue 14) ----

constexpr int kSeedMem = 64;  // what a VM gets without a find_image (the seed's default)

TEST_F(ReconcilerTest, AtMostKVmsBootAtOnceTheOthersQueueInOrder) {
  max_booting_ = 2;
  vms_.set_boot_to_running(false);
  StartReconciler();
  for (const char* vm : {"a", "b", "c", "d"}) Apply(CreateVm(vm));
  EXPECT_EQ(vms_.starts("a"), 1);
  EXPECT_EQ(vms_.starts("b"), 1);
  EXPECT_EQ(vms_.starts("c"), 0);
  EXPECT_EQ(Vm("c").state(), clownix::v1::VM_STATE_BOOTING);
  EXPECT_EQ(
      Vm("c").state_reason(),
      "queued to boot: at most 2 booting at once (a boot lasts until the startup has finished)");
  EXPECT_EQ(Vm("d").state(), clownix::v1::VM_STATE_BOOTING);
  EXPECT_EQ(reconciler_->BootStats().booting, 2);
  EXPECT_EQ(reconciler_->BootStats().queued, 2);
  vms_.MakeRunning("b");
  reconciler_->WaitIdle();
  EXPECT_EQ(vms_.starts("c"), 0) << "b's agent answered; its startup still runs";
  clownix::v1::StartupStatus done;
  done.set_state(clownix::v1::StartupStatus::STATE_DONE);
  vms_.FinishStartup("b", done);
  reconciler_->WaitIdle();
  EXPECT_EQ(vms_.starts("c"), 1) << "c asked before d";
  EXPECT_EQ(vms_.starts("d"), 0);
  vms_.Crash("a", "kernel panic: test");  // an end frees the slot too
  reconciler_->WaitIdle();
  EXPECT_EQ(vms_.starts("d"), 1);
  EXPECT_EQ(reconciler_->BootStats().queued, 0);
}

TEST_F(ReconcilerTest, AVmThatDoesNotFitWaitsForMemoryAndBootsWhenRoomAppears) {
  const int64_t cost = MemoryBudget::CostMib(kSeedMem);
  budget_ = std::make_unique<MemoryBudget>(2 * cost + 10);
  StartReconciler();
  for (const char* vm : {"a", "b", "c", "d"}) Apply(CreateVm(vm));
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_RUNNING);
  EXPECT_EQ(Vm("b").state(), clownix::v1::VM_STATE_RUNNING);
  EXPECT_EQ(vms_.starts("c"), 0);
  EXPECT_EQ(Vm("c").state(), clownix::v1::VM_STATE_DEFINED);
  EXPECT_EQ(Vm("c").state_reason(),
            absl::StrCat("waiting for memory: ", cost, " MiB needed, 10 MiB free"));
  EXPECT_EQ(Vm("d").state_reason(),
            absl::StrCat("waiting for memory: ", cost,
                         " MiB needed, 10 MiB free; queued behind vm \"c\""));
  EXPECT_EQ(reconciler_->BootStats().waiting_for_memory, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(budget_->usage().used_mib, 2 * cost);
  // Nothing was killed to make room.
  EXPECT_EQ(vms_.kills("a") + vms_.kills("b"), 0);
  Apply(DeleteVm("a"));
  reconciler_->WaitIdle();
  EXPECT_EQ(Vm("c").state(), clownix::v1::VM_STATE_RUNNING);
  EXPECT_EQ(Vm("d").state(), clownix::v1::VM_STATE_DEFINED);
  ASSERT_TRUE(reconciler_->HaltVm("b", absl::Seconds(1)).ok());
  reconciler_->WaitIdle();
  EXPECT_EQ(Vm("d").state(), clownix::v1::VM_STATE_RUNNING);
  EXPECT_EQ(budget_->usage().used_mib, 2 * cost);
}

TEST_F(ReconcilerTest, AVmLargerThanTheWholeBudgetIsRefusedAtStart) {
  budget_ = std::make_unique<MemoryBudget>(kSeedMem);  // less than mem + UML's overhead
  StartReconciler();
  Apply(CreateVm("a"));  // the store here has no budget check: it waits
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_DEFINED);
  absl::Status s = reconciler_->StartVm("a");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(vms_.starts("a"), 0);
}

TEST_F(ReconcilerTest, AWaitingVmThatIsHaltedOrDeletedLeavesTheQueue) {
  const int64_t cost = MemoryBudget::CostMib(kSeedMem);
  budget_ = std::make_unique<MemoryBudget>(2 * cost);
  max_booting_ = 1;
  vms_.set_boot_to_running(false);
  StartReconciler();
  for (const char* vm : {"a", "b", "c"}) Apply(CreateVm(vm));
  EXPECT_EQ(
      Vm("b").state_reason(),
      "queued to boot: at most 1 booting at once (a boot lasts until the startup has finished)");
  EXPECT_EQ(Vm("c").state(), clownix::v1::VM_STATE_DEFINED);     // waiting for memory
  ASSERT_TRUE(reconciler_->HaltVm("b", absl::Seconds(1)).ok());  // queued: charged, not running
  reconciler_->WaitIdle();
  EXPECT_EQ(Vm("b").state(), clownix::v1::VM_STATE_STOPPED);
  EXPECT_EQ(vms_.starts("b"), 0);
  // Its charge went back: c is charged now, queued behind a's boot.
  EXPECT_EQ(Vm("c").state(), clownix::v1::VM_STATE_BOOTING);
  Apply(DeleteVm("c"));
  reconciler_->WaitIdle();
  EXPECT_EQ(budget_->usage().used_mib, cost);
  vms_.MakeRunning("a");
  reconciler_->WaitIdle();
  EXPECT_EQ(vms_.starts("c"), 0);
}

TEST_F(ReconcilerTest, RunningVmsFoundAtStartAreCharged) {
  budget_ = std::make_unique<MemoryBudget>(MemoryBudget::CostMib(kSeedMem));
  Apply(CreateVm("a"));
  Apply(Status("a", clownix::v1::VM_STATE_RUNNING));
  Apply(CreateVm("b"));
  VmDriver::Spec spec;
  spec.name = "a";
  spec.number = static_cast<int>(Vm("a").number());
  spec.mem_mib = kSeedMem;
  vms_.AddRunning(spec);
  StartReconciler();
  EXPECT_EQ(budget_->ChargeOf("a"), MemoryBudget::CostMib(kSeedMem));
  EXPECT_EQ(Vm("b").state(), clownix::v1::VM_STATE_DEFINED);
  EXPECT_EQ(vms_.starts("b"), 0);
}

TEST_F(ReconcilerTest, ADefinedVmBootsWithItsNicsAndItsLinkComesUp) {
  StartReconciler();
  Apply(CreateLan("blue"));
  EXPECT_TRUE(sw_->state().lans.count("blue"));
  EXPECT_TRUE(sw_->state().lans.count(kAdminLan) == 0);  // the bootstrap's, not the reconciler's
  Apply(CreateVm("a"));
  Apply(Connect(Nic("a", 1), "blue"));
  EXPECT_EQ(vms_.starts("a"), 1);
  EXPECT_EQ(vms_.last_spec("a").nics.at(0), sw_->ControlPath(kAdminLan));
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_RUNNING);
  // Connected after it booted: hot-plugged.
  EXPECT_EQ(vms_.Get("a")->nics.at(1), sw_->ControlPath("blue"));
  EXPECT_FALSE(LinkUp(Nic("a", 1)));  // until the switch sees the NIC
  PlugPort("a", 1, "blue");
  EXPECT_TRUE(LinkUp(Nic("a", 1)));
  EXPECT_TRUE(Vm("a").nics(1).link_up());
}

TEST_F(ReconcilerTest, AVmConnectedBeforeItBootsStartsWithTheNic) {
  Apply(CreateLan("blue"));
  Apply(CreateVm("a"));
  Apply(Connect(Nic("a", 2), "blue"));
  StartReconciler();
  std::map<int, std::string> nics = vms_.last_spec("a").nics;
  EXPECT_EQ(nics.size(), 2u);
  EXPECT_EQ(nics.at(2), sw_->ControlPath("blue"));
  EXPECT_EQ(vms_.nic_changes("a"), 0);
}

TEST_F(ReconcilerTest, APortKnownOnlyByItsVmsAddressIsNamedByThePidAndTheLan) {
  StartReconciler();
  Apply(CreateLan("blue"));
  Apply(CreateVm("a"));
  Apply(Connect(Nic("a", 1), "blue"));
  uint64_t port = PlugPort("a", 1, "blue", /*mac_known=*/false);
  EXPECT_TRUE(LinkUp(Nic("a", 1)));
  sw_->LearnMac(port, Mac(static_cast<int>(Vm("a").number()), 1));  // same port: nothing changes
  reconciler_->WaitIdle();
  EXPECT_TRUE(LinkUp(Nic("a", 1)));
  sw_->RemovePort(port);
  reconciler_->WaitIdle();
  EXPECT_FALSE(LinkUp(Nic("a", 1)));
}

TEST_F(ReconcilerTest, AVmCrashIsCrashedWithItsReasonAndItsLinksGoDown) {
  StartReconciler();
  RunningVmOnBlue();
  ASSERT_TRUE(LinkUp(Nic("a", 1)));
  vms_.Crash("a", "kernel panic: Attempted to kill init!");
  reconciler_->WaitIdle();
  clownix::v1::Vm a = Vm("a");
  EXPECT_EQ(a.state(), clownix::v1::VM_STATE_CRASHED);
  EXPECT_EQ(a.state_reason(), "kernel panic: Attempted to kill init!");
  EXPECT_FALSE(LinkUp(Nic("a", 1)));
  EXPECT_EQ(vms_.starts("a"), 1);  // not booted again by itself

  ASSERT_TRUE(reconciler_->StartVm("a").ok());
  EXPECT_EQ(vms_.starts("a"), 2);
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_RUNNING);
  EXPECT_EQ(vms_.Get("a")->nics.count(1), 1u);  // booted with its NIC
}

TEST_F(ReconcilerTest, BootingThenRunningAsTheAgentAnswers) {
  vms_.set_boot_to_running(false);
  StartReconciler();
  Apply(CreateLan("blue"));
  Apply(CreateVm("a"));
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_BOOTING);
  Apply(Connect(Nic("a", 1), "blue"));
  EXPECT_EQ(vms_.nic_changes("a"), 0);  // NICs are hot-plugged once the VM answers
  vms_.MakeRunning("a");
  reconciler_->WaitIdle();
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_RUNNING);
  EXPECT_EQ(vms_.Get("a")->nics.count(1), 1u);
}

TEST_F(ReconcilerTest, RestartAdoptsRunningVmsWithoutRebootingThem) {
  StartReconciler();
  uint64_t port = RunningVmOnBlue();
  Apply(Delay(Nic("a", 1), 5000));
  ASSERT_EQ(sw_->state().impairments.at(port).first.delay_us(), 5000u);

  RestartClownixd();
  EXPECT_EQ(vms_.starts("a"), 1);  // adopted: not booted again
  EXPECT_EQ(vms_.kills("a"), 0);
  EXPECT_EQ(vms_.nic_changes("a"), 1);  // only the first hot-plug, long ago
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_RUNNING);
  // The new switch has the LAN, the VM's port (ports.saved) and its impairment again.
  FakeSwitchDriver::State state = sw_->state();
  EXPECT_TRUE(state.lans.count("blue"));
  ASSERT_EQ(state.ports.count(port), 1u);
  EXPECT_EQ(state.ports.at(port).lan, "blue");
  EXPECT_EQ(state.impairments.at(port).first.delay_us(), 5000u);
  EXPECT_TRUE(LinkUp(Nic("a", 1)));
}

TEST_F(ReconcilerTest, RestartBootsWhatShouldRunButDoesNot) {
  // The topology as clownixd left it; no VM survived (the host rebooted).
  Apply(CreateVm("running"));
  Apply(Status("running", clownix::v1::VM_STATE_RUNNING));
  Apply(CreateVm("booting"));
  Apply(Status("booting", clownix::v1::VM_STATE_BOOTING));
  Apply(CreateVm("stopping"));
  Apply(Status("stopping", clownix::v1::VM_STATE_STOPPING));
  Apply(CreateVm("stopped"));
  Apply(Status("stopped", clownix::v1::VM_STATE_STOPPED));
  Apply(CreateVm("crashed"));
  Apply(Status("crashed", clownix::v1::VM_STATE_CRASHED));
  StartReconciler();
  EXPECT_EQ(vms_.starts("running"), 1);
  EXPECT_EQ(vms_.starts("booting"), 1);
  EXPECT_EQ(Vm("running").state(), clownix::v1::VM_STATE_RUNNING);
  EXPECT_EQ(Vm("booting").state(), clownix::v1::VM_STATE_RUNNING);
  // A halt under way when clownixd died is done.
  EXPECT_EQ(vms_.starts("stopping"), 0);
  EXPECT_EQ(Vm("stopping").state(), clownix::v1::VM_STATE_STOPPED);
  EXPECT_EQ(Vm("stopping").state_reason(), "halted while clownixd was down");
  EXPECT_EQ(vms_.starts("stopped"), 0);
  EXPECT_EQ(vms_.starts("crashed"), 0);
}

TEST_F(ReconcilerTest, RestartKillsVmsTheTopologyNoLongerHas) {
  VmDriver::Spec ghost;
  ghost.name = "ghost";
  ghost.number = 7;
  vms_.AddRunning(ghost);
  StartReconciler();
  EXPECT_EQ(vms_.kills("ghost"), 1);
  EXPECT_FALSE(vms_.Get("ghost").ok());
}

TEST_F(ReconcilerTest, RestartFindsAVmStoppedInTheTopologyRunningAndKillsIt) {
  Apply(CreateVm("a"));
  Apply(Status("a", clownix::v1::VM_STATE_STOPPED));
  VmDriver::Spec spec;
  spec.name = "a";
  vms_.AddRunning(spec);
  StartReconciler();
  EXPECT_EQ(vms_.kills("a"), 1);
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_STOPPED);
}

TEST_F(ReconcilerTest, SwitchRestartGivesPortsBackTheirImpairments) {
  StartReconciler();
  uint64_t port = RunningVmOnBlue();
  Apply(CreateTap("t0"));
  Apply(Connect(TapEndpoint("t0"), "blue"));
  Apply(Delay(Nic("a", 1), 1000));
  Apply(Delay(TapEndpoint("t0"), 2000));
  int calls = sw_->set_impairment_calls();

  sw_->Restart();  // every port comes back under a new id, without impairments
  reconciler_->WaitIdle();
  FakeSwitchDriver::State state = sw_->state();
  ASSERT_EQ(state.ports.size(), 2u);
  for (const auto& [id, p] : state.ports) {
    EXPECT_NE(id, port);
    ASSERT_EQ(state.impairments.count(id), 1u) << id;
    EXPECT_EQ(state.impairments.at(id).first.delay_us(),
              p.kind == switchcore::ctl::PortKind::kTap ? 2000u : 1000u);
  }
  EXPECT_EQ(sw_->set_impairment_calls(), calls + 2);
  EXPECT_TRUE(LinkUp(Nic("a", 1)));
  EXPECT_TRUE(LinkUp(TapEndpoint("t0")));
}

TEST_F(ReconcilerTest, ImpairmentsAreAppliedOnceAndAgainOnANewPort) {
  StartReconciler();
  uint64_t first = RunningVmOnBlue();
  int before = sw_->set_impairment_calls();  // a new port gets its (empty) impairments once
  Apply(Delay(Nic("a", 1), 1000));
  EXPECT_EQ(sw_->set_impairment_calls(), before + 1);
  // The same port up again (its MAC learnt): nothing is sent again.
  sw_->LearnMac(first, Mac(static_cast<int>(Vm("a").number()), 1));
  reconciler_->WaitIdle();
  EXPECT_EQ(sw_->set_impairment_calls(), before + 1);

  // The NIC connects again (a new port) before the old one is reported gone.
  uint64_t second = PlugPort("a", 1, "blue");
  EXPECT_EQ(sw_->state().impairments.at(second).first.delay_us(), 1000u);
  sw_->RemovePort(first);  // the old port's end does not take the link down
  reconciler_->WaitIdle();
  EXPECT_TRUE(LinkUp(Nic("a", 1)));
  EXPECT_EQ(sw_->set_impairment_calls(), before + 2);
}

TEST_F(ReconcilerTest, OneVmFailingToStartLeavesTheOthersRunning) {
  vms_.FailStart("b", absl::InternalError("cannot create the COW file"));
  StartReconciler();
  Apply(CreateVm("a"));
  Apply(CreateVm("b"));
  Apply(CreateVm("c"));
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_RUNNING);
  EXPECT_EQ(Vm("c").state(), clownix::v1::VM_STATE_RUNNING);
  clownix::v1::Vm b = Vm("b");
  EXPECT_EQ(b.state(), clownix::v1::VM_STATE_CRASHED);
  EXPECT_EQ(b.state_reason(), "failed to start: cannot create the COW file");
  EXPECT_EQ(vms_.starts("b"), 1);  // not retried by itself

  vms_.FailStart("b", absl::OkStatus(), 0);
  ASSERT_TRUE(reconciler_->StartVm("b").ok());
  EXPECT_EQ(Vm("b").state(), clownix::v1::VM_STATE_RUNNING);
}

TEST_F(ReconcilerTest, AVmBootsOnItsImagesFileAndOneWhoseImageIsGoneCrashesSayingSo) {
  find_image_ = [](const std::string& name) -> absl::StatusOr<clownix::v1::Image> {
    if (name != "tiny") {
      return absl::NotFoundError("image \"" + name + "\" does not exist; the images are: tiny");
    }
    clownix::v1::Image image;
    image.set_name(name);
    image.set_root_fs("/images/.tiny-v1/rootfs.img");
    return image;
  };
  StartReconciler();
  Apply(CreateVm("a"));  // the default image
  EXPECT_EQ(Vm("a").image(), "tiny");
  EXPECT_EQ(vms_.last_spec("a").root_fs, "/images/.tiny-v1/rootfs.img");
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_RUNNING);

  Mutation on_debian = CreateVm("b");
  on_debian.mutable_create_vm()->mutable_vm()->set_image("debian");
  Apply(on_debian);
  clownix::v1::Vm b = Vm("b");
  EXPECT_EQ(b.state(), clownix::v1::VM_STATE_CRASHED);
  EXPECT_EQ(b.state_reason(),
            "failed to start: image \"debian\" does not exist; the images are: tiny");
  EXPECT_EQ(vms_.starts("b"), 0);
}

TEST_F(ReconcilerTest, ALanTheSwitchCannotCreateNowIsRetriedAndItsNicsFollow) {
  sw_->FailCreateLan("blue", absl::UnavailableError("clownix-switchcore is restarting"), 3);
  StartReconciler();
  Apply(CreateLan("blue"));
  Apply(CreateVm("a"));
  Apply(Connect(Nic("a", 1), "blue"));
  // The VM does not wait for the LAN; its NIC is plugged once the LAN exists.
  ASSERT_TRUE(vms_.WaitUntil(
      [](const FakeVmDriver::Vms& vms) { return vms.count("a") && vms.at("a").nics.count(1); },
      kWait));
  EXPECT_TRUE(sw_->state().lans.count("blue"));
  EXPECT_EQ(sw_->create_lan_calls("blue"), 4);
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_RUNNING);
}

TEST_F(ReconcilerTest, ALanTheSwitchRefusesIsNotRetriedUntilItChanges) {
  sw_->FailCreateLan("blue", absl::InvalidArgumentError("lan name is too long"), 1);
  StartReconciler();
  Apply(CreateLan("blue"));
  Apply(CreateVm("a"));
  Apply(Connect(Nic("a", 1), "blue"));
  EXPECT_EQ(sw_->create_lan_calls("blue"), 1);
  EXPECT_FALSE(sw_->state().lans.count("blue"));
  EXPECT_EQ(vms_.Get("a")->nics.count(1), 0u);  // nothing to plug into
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_RUNNING);
  // A change of the LAN is a new attempt.
  Mutation update;
  update.mutable_update_lan()->set_name("blue");
  (*update.mutable_update_lan()->mutable_labels())["try"] = "again";
  Apply(update);
  EXPECT_EQ(sw_->create_lan_calls("blue"), 2);
  EXPECT_TRUE(sw_->state().lans.count("blue"));
  EXPECT_EQ(vms_.Get("a")->nics.count(1), 1u);
}

TEST_F(ReconcilerTest, HotPlugAndUnplugFollowTheLinks) {
  StartReconciler();
  Apply(CreateLan("blue"));
  Apply(CreateLan("red"));
  Apply(CreateVm("a"));
  Apply(Connect(Nic("a", 1), "blue"));
  Apply(Connect(Nic("a", 2), "red"));
  EXPECT_EQ(vms_.Get("a")->nics, (std::map<int, std::string>{{0, sw_->ControlPath(kAdminLan)},
                                                             {1, sw_->ControlPath("blue")},
                                                             {2, sw_->ControlPath("red")}}));
  Apply(Disconnect(Nic("a", 1)));
  Apply(Disconnect(Nic("a", 2)));
  Apply(Connect(Nic("a", 2), "blue"));
  EXPECT_EQ(vms_.Get("a")->nics, (std::map<int, std::string>{{0, sw_->ControlPath(kAdminLan)},
                                                             {2, sw_->ControlPath("blue")}}));
}

TEST_F(ReconcilerTest, AVmWithoutTheAdminNetworkHasNoEth0EvenAfterARestart) {
  Apply(CreateLan("blue"));
  Apply(CreateLan("red"));
  Apply(CreateVmWithoutAdmin("a"));
  Apply(CreateVm("b"));
  Apply(Connect(Nic("a", 1), "blue"));
  StartReconciler();
  // Boots with eth1 only: no eth0 on the admin LAN, eth1 keeps its number.
  EXPECT_EQ(vms_.last_spec("a").nics, (std::map<int, std::string>{{1, sw_->ControlPath("blue")}}));
  EXPECT_EQ(vms_.last_spec("b").nics.at(0), sw_->ControlPath(kAdminLan));
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_RUNNING);
  Apply(Connect(Nic("a", 2), "red"));  // hot-plugged as eth2
  EXPECT_EQ(vms_.Get("a")->nics, (std::map<int, std::string>{{1, sw_->ControlPath("blue")},
                                                             {2, sw_->ControlPath("red")}}));
  EXPECT_EQ(vms_.nic_changes("a"), 1);

  RestartClownixd();  // adopted as it is: nothing plugged, nothing booted again
  EXPECT_EQ(vms_.starts("a"), 1);
  EXPECT_EQ(vms_.nic_changes("a"), 1);
  EXPECT_EQ(vms_.Get("a")->nics.count(0), 0u);

  // Given the admin network while stopped, it has eth0 from its next boot on.
  ASSERT_TRUE(reconciler_->HaltVm("a", absl::Seconds(1)).ok());
  Mutation update;
  *update.mutable_update_vm() = Vm("a");
  update.mutable_update_vm()->set_admin(true);
  Apply(update);
  ASSERT_TRUE(reconciler_->StartVm("a").ok());
  EXPECT_EQ(vms_.last_spec("a").nics, (std::map<int, std::string>{{0, sw_->ControlPath(kAdminLan)},
                                                                  {1, sw_->ControlPath("blue")},
                                                                  {2, sw_->ControlPath("red")}}));
}

TEST_F(ReconcilerTest, AKatharaStyleVmBootsWithEth0OnItsLabLanAndItsChosenMacs) {
  Apply(CreateLan("a"));
  Apply(CreateLan("b"));
  Mutation r1 = CreateVmWithoutAdmin("r1", 2);
  (*r1.mutable_create_vm()->mutable_vm()->mutable_nic_macs())[0] = "02:42:0a:00:00:01";
  Apply(r1);
  Apply(Connect(Nic("r1", 0), "a"));
  StartReconciler();
  VmDriver::Spec spec = vms_.last_spec("r1");
  EXPECT_FALSE(spec.admin);  // eth0 is not the admin NIC: the guest gets no admin IP there
  EXPECT_EQ(spec.nics, (std::map<int, std::string>{{0, sw_->ControlPath("a")}}));
  EXPECT_EQ(spec.macs, (std::map<int, std::string>{{0, "02:42:0a:00:00:01"}}));
  // eth0 moves like any lab NIC: unplugged and plugged again on b.
  Apply(Disconnect(Nic("r1", 0)));
  Apply(Connect(Nic("r1", 0), "b"));
  ASSERT_TRUE(vms_.WaitUntil(
      [this](const FakeVmDriver::Vms& vms) {
        auto it = vms.at("r1").nics.find(0);
        return it != vms.at("r1").nics.end() && it->second == sw_->ControlPath("b");
      },
      kWait));
}

TEST_F(ReconcilerTest, AFailedHotPlugIsRetriedWhenTransient) {
  StartReconciler();
  Apply(CreateLan("blue"));
  Apply(CreateVm("a"));
  vms_.FailNicChanges("a", absl::UnavailableError("mconsole did not answer"), 2);
  Apply(Connect(Nic("a", 1), "blue"));
  ASSERT_TRUE(vms_.WaitUntil(
      [](const FakeVmDriver::Vms& vms) { return vms.at("a").nics.count(1) > 0; }, kWait));
  EXPECT_EQ(vms_.nic_changes("a"), 3);
}

TEST_F(ReconcilerTest, ARebootGetsItsHotPluggedNicsBack) {
  StartReconciler();
  Apply(CreateLan("blue"));
  Apply(CreateVm("a"));
  Apply(Connect(Nic("a", 1), "blue"));
  ASSERT_EQ(vms_.nic_changes("a"), 1);
  ASSERT_TRUE(reconciler_->RebootVm("a").ok());  // UML forgets hot-plugged NICs
  reconciler_->WaitIdle();
  EXPECT_EQ(vms_.Get("a")->nics.count(1), 1u);
  EXPECT_EQ(vms_.nic_changes("a"), 2);
}

TEST_F(ReconcilerTest, TapsAttachMoveAndDetach) {
  StartReconciler();
  Apply(CreateLan("blue"));
  Apply(CreateLan("red"));
  Apply(CreateTap("t0"));
  EXPECT_FALSE(sw_->TapPort("t0").has_value());
  Apply(Connect(TapEndpoint("t0"), "blue"));
  ASSERT_TRUE(sw_->TapPort("t0").has_value());
  EXPECT_EQ(sw_->TapPort("t0")->lan, "blue");
  EXPECT_TRUE(LinkUp(TapEndpoint("t0")));

  Apply(Disconnect(TapEndpoint("t0")));
  EXPECT_FALSE(sw_->TapPort("t0").has_value());
  Apply(Connect(TapEndpoint("t0"), "red"));
  EXPECT_EQ(sw_->TapPort("t0")->lan, "red");
  EXPECT_TRUE(LinkUp(TapEndpoint("t0")));
  EXPECT_EQ(sw_->state().ports.size(), 1u);
}

TEST_F(ReconcilerTest, ATapThatCannotBeAttachedNowIsRetried) {
  sw_->FailAttachTap("t0", absl::UnavailableError("clownix-switchcore did not answer"), 2);
  StartReconciler();
  Apply(CreateLan("blue"));
  Apply(CreateTap("t0"));
  Apply(Connect(TapEndpoint("t0"), "blue"));
  ASSERT_TRUE(sw_->WaitUntil(
      [](const FakeSwitchDriver::State& state) { return !state.ports.empty(); }, kWait));
  reconciler_->WaitIdle();
  EXPECT_TRUE(LinkUp(TapEndpoint("t0")));
}

TEST_F(ReconcilerTest, AnImpairmentTheSwitchDidNotTakeIsRetried) {
  StartReconciler();
  uint64_t port = RunningVmOnBlue();
  sw_->FailSetImpairment(absl::UnavailableError("clownix-switchcore did not answer"), 2);
  Apply(Delay(Nic("a", 1), 3000));
  ASSERT_TRUE(sw_->WaitUntil(
      [port](const FakeSwitchDriver::State& state) {
        auto it = state.impairments.find(port);
        return it != state.impairments.end() && it->second.first.delay_us() == 3000;
      },
      kWait));
}

TEST_F(ReconcilerTest, HaltStopsTheVmAndItsLinksGoDown) {
  StartReconciler();
  RunningVmOnBlue();
  ASSERT_TRUE(reconciler_->HaltVm("a", absl::Seconds(1)).ok());
  EXPECT_EQ(vms_.halts("a"), 1);
  EXPECT_FALSE(vms_.Get("a").ok());
  EXPECT_EQ(Vm("a").state(), clownix::v1::VM_STATE_STOPPED);
  EXPECT_FALSE(LinkUp(Nic("a", 1)));
  EXPECT_EQ(vms_.starts("a"), 1);  // stays stopped
  // Halting a VM that does not run marks it stopped.
  ASSERT_TRUE(reconciler_->HaltVm("a", absl::Seconds(1)).ok());
  EXPECT_EQ(Vm("a").state_reason(), "halted (it was not running)");
}

TEST_F(ReconcilerTest, AHaltThatFailsLeavesTheVmInItsState) {
  StartReconciler();
  Apply(CreateVm("a"));
  vms_.FailHalt("a", absl::DeadlineExceededError("the VM did not stop"));
  absl::Status status = reconciler_->HaltVm("a", absl::Seconds(1));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  clownix::v1::Vm a = Vm("a");
  EXPECT_EQ(a.state(), clownix::v1::VM_STATE_RUNNING);
  EXPECT_EQ(a.state_reason(), "halt failed: the VM did not stop");
}

TEST_F(ReconcilerTest, StartRefusesARunningOrStoppingVm) {
  StartReconciler();
  Apply(CreateVm("a"));
  EXPECT_EQ(reconciler_->StartVm("a").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reconciler_->StartVm("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(vms_.starts("a"), 1);
}

TEST_F(ReconcilerTest, DeletingAVmKillsIt) {
  StartReconciler();
  RunningVmOnBlue();
  Apply(DeleteVm("a"));
  EXPECT_EQ(vms_.kills("a"), 1);
  EXPECT_FALSE(vms_.Get("a").ok());
}

TEST_F(ReconcilerTest, AKillThatFailsIsRetriedWhenTransient) {
  StartReconciler();
  Apply(CreateVm("a"));
  vms_.FailKill("a", absl::UnavailableError("the process group did not die"), 2);
  Apply(DeleteVm("a"));
  ASSERT_TRUE(vms_.WaitUntil([](const FakeVmDriver::Vms& vms) { return vms.empty(); }, kWait));
  EXPECT_EQ(vms_.kills("a"), 3);
}

TEST_F(ReconcilerTest, AfterStopMachineCallsAreRefused) {
  StartReconciler();
  Apply(CreateVm("a"));
  reconciler_->Stop();
  EXPECT_EQ(reconciler_->StartVm("a").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(reconciler_->HaltVm("a", absl::Seconds(1)).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(reconciler_->RebootVm("a").code(), absl::StatusCode::kUnavailable);
  reconciler_->WaitIdle(1000);      // returns: the queue is closed
  EXPECT_TRUE(vms_.Get("a").ok());  // the reconciler leaves VMs alone
}

TEST_F(ReconcilerTest, IdentifyPortNamesTapsAndNics) {
  StartReconciler();
  RunningVmOnBlue();
  SwitchDriver::Port port;
  port.kind = switchcore::ctl::PortKind::kVm;
  port.lan = "blue";
  port.vm_address = UmlAddress(vms_.Get("a")->pid);
  EXPECT_EQ(reconciler_->IdentifyPort(port), EndpointRef::Nic("a", 1));
  port.kind = switchcore::ctl::PortKind::kTap;
  port.tap_name = "t9";
  EXPECT_EQ(reconciler_->IdentifyPort(port), EndpointRef::Tap("t9"));
}

// ---- The guest's configuration and its startup (issue 16) ----

TEST_F(ReconcilerTest, AVmBootsWithItsGuestConfigAndItsStartupIsReported) {
  StartReconciler();
  Apply(CreateLan("blue"));
  Mutation create = CreateVm("r1");
  clownix::v1::GuestConfig* guest = create.mutable_create_vm()->mutable_vm()->mutable_guest();
  guest->set_startup("echo hi\n");
  (*guest->mutable_sysctls())["net.ipv4.ip_forward"] = "1";
  for (const auto& [nic, cidr] :
       {std::pair<int, const char*>{1, "10.0.1.1/24"}, {2, "10.0.2.1/24"}, {2, "fd00:2::1/64"}}) {
    clownix::v1::NicAddress* address = guest->add_addresses();
    address->set_nic(nic);
    address->set_cidr(cidr);
  }
  vms_.set_boot_to_running(false);
  Apply(std::move(create));
  const VmDriver::Spec spec = vms_.last_spec("r1");
  EXPECT_EQ(spec.guest.startup, "echo hi\n");
  ASSERT_EQ(spec.guest.addresses.size(), 3u);
  EXPECT_EQ(spec.guest.addresses[2].cidr, "fd00:2::1/64");
  EXPECT_EQ(Vm("r1").startup().state(), clownix::v1::StartupStatus::STATE_PENDING);

  // The agent answers: the startup runs; then it reports.
  vms_.MakeRunning("r1");
  reconciler_->WaitIdle();
  EXPECT_EQ(Vm("r1").startup().state(), clownix::v1::StartupStatus::STATE_RUNNING);
  clownix::v1::StartupStatus done;
  done.set_state(clownix::v1::StartupStatus::STATE_DONE);
  done.set_output("hi\n");
  vms_.FinishStartup("r1", done);
  reconciler_->WaitIdle();
  EXPECT_EQ(Vm("r1").state(), clownix::v1::VM_STATE_RUNNING);
  EXPECT_EQ(Vm("r1").startup().state(), clownix::v1::StartupStatus::STATE_DONE);
  EXPECT_EQ(Vm("r1").startup().output(), "hi\n");

  // A NIC plugged in while it runs gets its addresses with it.
  Apply(Connect(Nic("r1", 2), "blue"));
  EXPECT_EQ(vms_.nic_addresses("r1", 2), (std::vector<std::string>{"10.0.2.1/24", "fd00:2::1/64"}));
}

}  // namespace
}  // namespace clownix::server
