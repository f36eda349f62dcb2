#include "clients/cli/guest_readiness.h"

#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

v1::Vm WithStates(v1::VmState state, v1::StartupStatus::State startup) {
  v1::Vm vm;
  vm.set_name("r1");
  vm.set_state(state);
  vm.mutable_startup()->set_state(startup);
  return vm;
}

TEST(GuestReadinessTest, ReadyMeansRunningWithItsStartupFinished) {
  using S = v1::StartupStatus;
  EXPECT_EQ(ReadinessOf(nullptr), Readiness::kMissing);
  v1::Vm vm = WithStates(v1::VM_STATE_DEFINED, S::STATE_PENDING);
  EXPECT_EQ(ReadinessOf(&vm), Readiness::kWaiting);
  vm = WithStates(v1::VM_STATE_BOOTING, S::STATE_PENDING);
  EXPECT_EQ(ReadinessOf(&vm), Readiness::kWaiting);
  vm = WithStates(v1::VM_STATE_RUNNING, S::STATE_RUNNING);
  EXPECT_EQ(ReadinessOf(&vm), Readiness::kWaiting);
  vm = WithStates(v1::VM_STATE_RUNNING, S::STATE_DONE);
  EXPECT_EQ(ReadinessOf(&vm), Readiness::kReady);
  vm = WithStates(v1::VM_STATE_RUNNING, S::STATE_FAILED);
  EXPECT_EQ(ReadinessOf(&vm), Readiness::kFailed);
  // A crash keeps the last boot's startup status, but the VM is down all the same.
  vm = WithStates(v1::VM_STATE_CRASHED, S::STATE_DONE);
  EXPECT_EQ(ReadinessOf(&vm), Readiness::kDown);
  vm = WithStates(v1::VM_STATE_STOPPED, S::STATE_PENDING);
  EXPECT_EQ(ReadinessOf(&vm), Readiness::kDown);
}

}  // namespace
}  // namespace clownix::cli
