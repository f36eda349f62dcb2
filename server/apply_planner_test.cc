#include "server/apply_planner.h"

#include <map>
#include <string>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/mutation_rules.h"

namespace clownix::server {
namespace {

using clownix::v1::PlanItem;

class ApplyPlannerTest : public testing::Test {
 protected:
  // Plans, then applies every step through the rules like the store would; returns the plan.
  std::vector<PlannedStep> ApplyText(const std::string& text, bool prune = false,
                                     bool restart = false) {
    clownix::v1::ApplyRequest request;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, request.mutable_desired()));
    request.set_prune(prune);
    request.set_restart_changed_guests(restart);
    auto plan = PlanApply(state_, request, options_);
    EXPECT_TRUE(plan.ok()) << plan.status();
    if (!plan.ok()) return {};
    for (const PlannedStep& step : *plan) {
      if (!IsStoreStep(step)) continue;  // a restart: the runtime's
      auto changes = ComputeChanges(state_, step.mutation, options_);
      EXPECT_TRUE(changes.ok()) << step.item.ShortDebugString() << ": " << changes.status();
      if (!changes.ok() || changes->empty()) continue;
      clownix::v1::Event event;
      event.set_revision(state_.revision() + 1);
      for (const auto& c : *changes) *event.add_changes() = c;
      state_.Apply(event);
    }
    return *plan;
  }
  absl::StatusCode PlanCode(const std::string& text) {
    clownix::v1::ApplyRequest request;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, request.mutable_desired()));
    return PlanApply(state_, request, options_).status().code();
  }

  TopologyState state_;
  RuleOptions options_;
};

constexpr char kTwoVmsOneLan[] = R"pb(
  vms { name: "a" nic_count: 2 }
  vms {
    name: "b"
    nic_count: 2
    labels { key: "role" value: "host" }
  }
  lans { name: "l1" }
  links {
    endpoint { nic { vm: "a" index: 1 } }
    lan: "l1"
  }
  links {
    endpoint { nic { vm: "b" index: 1 } }
    lan: "l1"
    to_lan { delay_us: 1000 }
  }
)pb";

TEST_F(ApplyPlannerTest, CreatesEverythingInDependencyOrder) {
  auto plan = ApplyText(kTwoVmsOneLan);
  ASSERT_EQ(plan.size(), 6u);
  EXPECT_EQ(plan[0].item.kind(), "lan");
  EXPECT_EQ(plan[1].item.kind(), "vm");
  EXPECT_EQ(plan[3].item.action(), PlanItem::CONNECT);
  EXPECT_EQ(plan[5].item.action(), PlanItem::UPDATE);  // b's impairment
  EXPECT_EQ(state_.links().size(), 2u);
  EXPECT_EQ(state_.FindLink("b/eth1")->to_lan().delay_us(), 1000u);
}

TEST_F(ApplyPlannerTest, ApplyingTheSameTopologyAgainPlansNothing) {
  ApplyText(kTwoVmsOneLan);
  EXPECT_TRUE(ApplyText(kTwoVmsOneLan).empty());
}

TEST_F(ApplyPlannerTest, MovesLinksAndUpdatesSpecs) {
  ApplyText(kTwoVmsOneLan);
  auto plan = ApplyText(R"pb(
    vms { name: "a" nic_count: 3 mem_mib: 128 }
    vms {
      name: "b"
      nic_count: 2
      labels { key: "role" value: "host" }
    }
    lans { name: "l1" }
    lans { name: "l2" }
    links {
      endpoint { nic { vm: "a" index: 2 } }
      lan: "l2"
    }
    links {
      endpoint { nic { vm: "b" index: 1 } }
      lan: "l2"
    }
  )pb");
  // b/eth1 moves to l2: its new link starts unimpaired, as the desired link says.
  std::vector<std::string> seen;
  for (const auto& step : plan) {
    seen.push_back(PlanItem::Action_Name(step.item.action()) + " " + step.item.name());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"DISCONNECT a/eth1", "DISCONNECT b/eth1", "CREATE l2",
                                            "UPDATE a", "CONNECT a/eth2", "CONNECT b/eth1"}));
  EXPECT_EQ(state_.FindVm("a")->mem_mib(), 128u);
  EXPECT_EQ(state_.FindLink("b/eth1")->lan(), "l2");
}

TEST_F(ApplyPlannerTest, AChangedGuestConfigTakesARestartWhenAskedForElseTheNextBoot) {
  ApplyText(R"pb(vms { name: "a" }
                 vms { name: "b" })pb");
  for (const char* vm : {"a", "b"}) {
    Mutation running;
    running.mutable_vm_status()->set_name(vm);
    running.mutable_vm_status()->set_state(clownix::v1::VM_STATE_RUNNING);
    auto changes = ComputeChanges(state_, running, options_);
    ASSERT_TRUE(changes.ok());
    clownix::v1::Event event;
    event.set_revision(state_.revision() + 1);
    for (const auto& c : *changes) *event.add_changes() = c;
    state_.Apply(event);
  }
  constexpr char kNewGuests[] = R"pb(
    vms {
      name: "a"
      guest { startup: "echo a" }
    }
    vms {
      name: "b"
      guest { startup: "echo b" }
    }
    lans { name: "l1" }
  )pb";
  auto later = ApplyText(kNewGuests);
  ASSERT_EQ(later.size(), 3u);
  EXPECT_EQ(later[1].item.detail(), "guest (at its next boot: restart it to apply now)");
  EXPECT_EQ(state_.FindVm("a")->guest().startup(), "echo a");

  auto now = ApplyText(R"pb(
                         vms {
                           name: "a"
                           guest { startup: "echo A" }
                         }
                         vms {
                           name: "b"
                           guest { startup: "echo b" }
                         }
                         lans { name: "l1" }
                         lans { name: "l2" }
                       )pb",
                       /*prune=*/false, /*restart=*/true);
  std::vector<std::string> seen;
  for (const auto& step : now) {
    seen.push_back(PlanItem::Action_Name(step.item.action()) + " " + step.item.name());
  }
  // The restart comes last, after everything it may need; b's guest did not change.
  EXPECT_EQ(seen, (std::vector<std::string>{"CREATE l2", "UPDATE a", "RESTART a"}));
  EXPECT_EQ(now[1].item.detail(), "guest");
  EXPECT_FALSE(IsStoreStep(now[2]));
}

TEST_F(ApplyPlannerTest, AdminChangesWhenGivenAndStaysWhenAbsent) {
  ApplyText(R"pb(vms { name: "a" admin: false })pb");
  EXPECT_FALSE(state_.FindVm("a")->admin());
  // Absent: the VM keeps what it has.
  EXPECT_TRUE(ApplyText(R"pb(vms { name: "a" })pb").empty());
  EXPECT_TRUE(ApplyText(R"pb(vms { name: "a" admin: false })pb").empty());
  auto plan = ApplyText(R"pb(vms { name: "a" admin: true })pb");
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].item.action(), PlanItem::UPDATE);
  EXPECT_EQ(plan[0].item.detail(), "admin false -> true");
  EXPECT_TRUE(state_.FindVm("a")->admin());
}

TEST_F(ApplyPlannerTest, AVmWithoutTheAdminNetworkLinksItsEth0AndKeepsItsMacs) {
  constexpr char kLabMachine[] = R"pb(
    vms {
      name: "r1"
      nic_count: 2
      admin: false
      nic_macs { key: 0 value: "02:42:0a:00:00:01" }
    }
    lans { name: "a" }
    links {
      endpoint { nic { vm: "r1" index: 0 } }
      lan: "a"
    })pb";
  auto plan = ApplyText(kLabMachine);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[2].item.action(), PlanItem::CONNECT);
  EXPECT_EQ(state_.FindVm("r1")->nics(0).lan(), "a");
  EXPECT_EQ(state_.FindVm("r1")->nics(0).mac(), "02:42:0a:00:00:01");
  EXPECT_TRUE(ApplyText(kLabMachine).empty());
  auto changed = ApplyText(R"pb(vms { name: "r1" nic_count: 2 admin: false }
                                lans { name: "a" }
                                links {
                                  endpoint { nic { vm: "r1" index: 0 } }
                                  lan: "a"
                                })pb");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].item.detail(), "nic_macs");
}

TEST_F(ApplyPlannerTest, ImagesChangeWhenGivenAndMemoryFollowsThem) {
  std::map<std::string, uint32_t> default_mem = {{"tiny", 64}, {"debian", 96}};
  options_.find_image = [&](const std::string& name) -> absl::StatusOr<clownix::v1::Image> {
    if (!default_mem.count(name)) return absl::NotFoundError("image \"" + name + "\" is not here");
    clownix::v1::Image image;
    image.set_name(name);
    image.set_default_mem_mib(default_mem[name]);
    image.set_min_mem_mib(48);
    return image;
  };
  ApplyText(R"pb(vms { name: "a" })pb");
  EXPECT_EQ(state_.FindVm("a")->image(), "tiny");
  EXPECT_EQ(state_.FindVm("a")->mem_mib(), 64u);
  auto plan = ApplyText(R"pb(vms { name: "a" image: "debian" })pb");
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].item.action(), PlanItem::UPDATE);
  EXPECT_EQ(plan[0].item.detail(), "image tiny -> debian, mem_mib 64 -> 96");
  EXPECT_EQ(state_.FindVm("a")->image(), "debian");
  EXPECT_EQ(state_.FindVm("a")->mem_mib(), 96u);
  // Converged; and an empty image keeps the VM's (mem_mib 0: that image's default).
  EXPECT_TRUE(ApplyText(R"pb(vms { name: "a" image: "debian" })pb").empty());
  EXPECT_TRUE(ApplyText(R"pb(vms { name: "a" })pb").empty());

  // An unknown image is planned; its item fails when applied, with NOT_FOUND.
  clownix::v1::ApplyRequest request;
  clownix::v1::Vm* vm = request.mutable_desired()->add_vms();
  vm->set_name("a");
  vm->set_image("gentoo");
  auto unknown = PlanApply(state_, request, options_);
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  ASSERT_EQ(unknown->size(), 1u);
  EXPECT_EQ((*unknown)[0].item.detail(), "image debian -> gentoo");
  EXPECT_EQ(ComputeChanges(state_, (*unknown)[0].mutation, options_).status().code(),
            absl::StatusCode::kNotFound);
  // A dry run says so beforehand, and only for that item; nothing changes.
  request.mutable_desired()->add_vms()->set_name("b");
  auto dry = PlanApply(state_, request, options_);
  ASSERT_TRUE(dry.ok() && dry->size() == 2u) << dry.status();
  const uint64_t revision = state_.revision();
  PredictOutcomes(state_, options_, &*dry);
  EXPECT_EQ((*dry)[0].item.status_code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ((*dry)[0].item.status_message(), "vm \"a\": image \"gentoo\" is not here");
  EXPECT_EQ((*dry)[1].item.status_code(), 0);
  EXPECT_EQ(state_.revision(), revision);
  EXPECT_EQ(state_.FindVm("b"), nullptr);
  EXPECT_EQ(PlanCode(R"pb(vms { name: "a" image: "../x" })pb"), absl::StatusCode::kInvalidArgument);
}

TEST_F(ApplyPlannerTest, PruneDeletesWhatIsNotDesired) {
  ApplyText(kTwoVmsOneLan);
  auto plan = ApplyText(R"pb(vms { name: "a" nic_count: 2 })pb", /*prune=*/true);
  ASSERT_FALSE(plan.empty());
  EXPECT_EQ(state_.vms().size(), 1u);
  EXPECT_TRUE(state_.lans().empty());
  EXPECT_TRUE(state_.links().empty());
}

TEST_F(ApplyPlannerTest, WithoutPruneOthersAreLeftAlone) {
  ApplyText(kTwoVmsOneLan);
  ApplyText(R"pb(vms { name: "c" })pb");
  EXPECT_EQ(state_.vms().size(), 3u);
  EXPECT_EQ(state_.links().size(), 2u);
}

TEST_F(ApplyPlannerTest, InconsistentDesiredTopologiesAreRejected) {
  EXPECT_EQ(PlanCode(R"pb(vms { name: "a" }
                          vms { name: "a" })pb"),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanCode(R"pb(vms { name: "Bad" })pb"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanCode(R"pb(lans { name: "l" }
                          links {
                            endpoint { nic { vm: "x" index: 1 } }
                            lan: "l"
                          })pb"),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanCode(R"pb(vms { name: "a" nic_count: 2 }
                          links {
                            endpoint { nic { vm: "a" index: 1 } }
                            lan: "nope"
                          })pb"),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanCode(R"pb(vms { name: "a" nic_count: 2 admin: true }
                          lans { name: "l" }
                          links {
                            endpoint { nic { vm: "a" index: 0 } }
                            lan: "l"
                          })pb"),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanCode(R"pb(vms { name: "a" nic_count: 2 }
                          lans { name: "l" }
                          links {
                            endpoint { nic { vm: "a" index: 2 } }
                            lan: "l"
                          })pb"),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanCode(R"pb(vms { name: "a" nic_count: 2 }
                          lans { name: "l" }
                          lans { name: "m" }
                          links {
                            endpoint { nic { vm: "a" index: 1 } }
                            lan: "l"
                          }
                          links {
                            endpoint { nic { vm: "a" index: 1 } }
                            lan: "m"
                          })pb"),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(state_.vms().empty());
}

}  // namespace
}  // namespace clownix::server
