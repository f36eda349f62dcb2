#include "clients/cli/lab/lab_plan.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Lab TwoWaveLab() {
  Lab lab;
  lab.name = "lab1";
  for (const char* name : {"r1", "h1"}) {
    v1::Vm& vm = *lab.network.add_vms();
    vm.set_name(name);
    (*vm.mutable_labels())[kLabLabel] = "lab1";
    v1::Link& link = *lab.network.add_links();
    link.mutable_endpoint()->mutable_nic()->set_vm(name);
    link.set_lan("a");
  }
  v1::Lan& lan = *lab.network.add_lans();
  lan.set_name("a");
  (*lan.mutable_labels())[kLabLabel] = "lab1";
  v1::Tap& tap = *lab.network.add_taps();
  tap.set_name("lab1-t123456");
  v1::Link& tap_link = *lab.network.add_links();
  tap_link.mutable_endpoint()->set_tap("lab1-t123456");
  tap_link.set_lan("a");
  lab.machines = {"r1", "h1"};
  lab.waves = {{"r1"}, {"h1"}};
  return lab;
}

std::vector<std::string> VmNames(const v1::Network& network) {
  std::vector<std::string> names;
  for (const v1::Vm& vm : network.vms()) names.push_back(vm.name());
  return names;
}

TEST(LabPlanTest, EachWaveAddsItsMachinesAndTheirLinks) {
  const Lab lab = TwoWaveLab();
  v1::Network first = LabUpToWave(lab, 0);
  EXPECT_THAT(VmNames(first), ElementsAre("r1"));
  EXPECT_EQ(first.lans_size(), 1);
  EXPECT_EQ(first.taps_size(), 1);
  EXPECT_EQ(first.links_size(), 2);  // r1's and the tap's
  v1::Network second = LabUpToWave(lab, 1);
  EXPECT_THAT(VmNames(second), ElementsAre("r1", "h1"));
  EXPECT_EQ(second.links_size(), 3);
}

TEST(LabPlanTest, ConflictsAreNamesThatBelongToSomethingElse) {
  const Lab lab = TwoWaveLab();
  v1::Network current;
  v1::Vm& mine = *current.add_vms();
  mine.set_name("r1");
  (*mine.mutable_labels())[kLabLabel] = "lab1";
  EXPECT_THAT(LabConflicts(lab, current), IsEmpty());
  v1::Vm& other = *current.add_vms();
  other.set_name("h1");
  (*other.mutable_labels())[kLabLabel] = "lab2";
  current.add_lans()->set_name("a");
  EXPECT_THAT(LabConflicts(lab, current),
              ElementsAre("vm \"h1\" (lab lab2)", "lan \"a\" (no lab)"));
}

TEST(LabPlanTest, ObjectsAreFoundByTheirLabel) {
  v1::Network network = TwoWaveLab().network;
  network.add_vms()->set_name("stranger");
  v1::Network objects = LabObjects(network, "lab1");
  EXPECT_THAT(VmNames(objects), ElementsAre("r1", "h1"));
  EXPECT_EQ(objects.lans_size(), 1);
  EXPECT_EQ(objects.taps_size(), 0);  // the test's tap has no label
  EXPECT_EQ(objects.links_size(), 0);
}

}  // namespace
}  // namespace clownix::cli
