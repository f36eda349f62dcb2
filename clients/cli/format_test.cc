#include "clients/cli/format.h"

#include "clients/common/vm_facts.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

using ::testing::HasSubstr;

TEST(FormatTest, ServerInfo) {
  v1::ServerInfo info;
  EXPECT_EQ(ServerInfoText(info), "") << "no runtime";
  info.set_host_memory_mib(24105);
  info.set_memory_budget_mib(600);
  info.set_memory_used_mib(480);
  info.set_memory_free_mib(120);
  info.set_vm_overhead_mib(16);
  info.set_max_booting(2);
  info.set_vms_booting(1);
  info.set_vms_queued_to_boot(0);
  info.add_vms_waiting_for_memory("r5");
  info.add_vms_waiting_for_memory("r6");
  v1::VmHostMemory* r1 = info.add_vms();
  r1->set_vm("r1");
  r1->set_charged_mib(112);
  r1->set_used_mib(34);
  r1->set_peak_mib(40);
  info.add_vms()->set_vm("r2");
  info.mutable_vms(1)->set_charged_mib(112);
  EXPECT_EQ(ServerInfoText(info),
            "vm memory: 480 of 600 MiB used (2 VMs, 16 MiB each for UML), 120 free of the host's "
            "24105; booting 1 (at most 2 at once), 0 queued; waiting for memory: r5, r6");
  EXPECT_EQ(VmHostMemoryText(info, "r1"), "112 MiB charged, 34 MiB used (peak 40)");
  EXPECT_EQ(VmHostMemoryText(info, "r2"), "112 MiB charged");
  EXPECT_EQ(VmHostMemoryText(info, "r5"), "");
}

TEST(FormatTest, VmState) {
  v1::Vm vm;
  EXPECT_EQ(VmStateText(vm), "unknown");
  vm.set_state(v1::VM_STATE_RUNNING);
  EXPECT_EQ(VmStateText(vm), "running");
  vm.set_state(v1::VM_STATE_CRASHED);
  vm.set_state_reason("killed by signal 9");
  EXPECT_EQ(VmStateText(vm), "crashed (killed by signal 9)");
  EXPECT_EQ(VmStateText(vm, /*with_reason=*/false), "crashed");
}

TEST(FormatTest, LabelsSortedByKey) {
  v1::Vm vm;
  EXPECT_EQ(LabelsText(vm.labels()), "-");
  (*vm.mutable_labels())["zone"] = "b";
  (*vm.mutable_labels())["role"] = "router";
  EXPECT_EQ(LabelsText(vm.labels()), "role=router,zone=b");
}

TEST(FormatTest, Endpoints) {
  v1::Endpoint nic;
  nic.mutable_nic()->set_vm("vm1");
  nic.mutable_nic()->set_index(2);
  EXPECT_EQ(EndpointText(nic), "vm1/eth2");
  v1::Endpoint tap;
  tap.set_tap("t0");
  EXPECT_EQ(EndpointText(tap), "tap:t0");
  EXPECT_EQ(EndpointText(v1::Endpoint()), "?");
}

TEST(FormatTest, Impairment) {
  v1::Impairment impairment;
  EXPECT_EQ(ImpairmentText(impairment), "-");
  impairment.set_delay_us(10000);
  impairment.set_jitter_us(1500);
  impairment.set_loss_percent(2.5);
  impairment.set_rate_kbps(1000);
  EXPECT_EQ(ImpairmentText(impairment), "delay=10ms jitter=1.5ms loss=2.5% rate=1000kbit");
}

TEST(FormatTest, Nics) {
  v1::Vm vm;
  EXPECT_EQ(NicsText(vm), "-");
  v1::Nic* eth0 = vm.add_nics();
  eth0->set_index(0);
  eth0->set_lan("admin");
  vm.add_nics()->set_index(1);
  EXPECT_EQ(NicsText(vm), "eth0:admin eth1:-");
  vm.set_admin(false);
  eth0->clear_lan();
  EXPECT_EQ(NicsText(vm), "eth1:-");
  EXPECT_FALSE(GuestHasNic(vm, *eth0));
  EXPECT_TRUE(GuestHasNic(vm, vm.nics(1)));
  eth0->set_lan("a");  // a lab NIC now (a Kathara lab's eth0)
  EXPECT_EQ(NicsText(vm), "eth0:a eth1:-");
  EXPECT_TRUE(GuestHasNic(vm, *eth0));
}

TEST(FormatTest, Admin) {
  v1::Vm vm;
  EXPECT_EQ(AdminText(vm), "-");  // no address known (and a server older than Vm.admin)
  EXPECT_TRUE(clients::HasAdminNetwork(vm));
  vm.set_admin(true);
  vm.set_admin_ip("10.0.0.3");
  EXPECT_EQ(AdminText(vm), "10.0.0.3");
  vm.set_admin(false);
  vm.clear_admin_ip();
  EXPECT_FALSE(clients::HasAdminNetwork(vm));
  EXPECT_EQ(AdminText(vm), "none");
  v1::Change change;
  change.set_type(v1::Change::UPDATED);
  *change.mutable_vm() = vm;
  change.mutable_vm()->set_name("vm1");
  change.mutable_vm()->set_state(v1::VM_STATE_RUNNING);
  change.mutable_vm()->set_mem_mib(64);
  EXPECT_EQ(ChangeText(change), "updated vm vm1 (running, 64 MiB, -, no admin network)");
}

TEST(FormatTest, Images) {
  v1::Vm vm;
  EXPECT_EQ(ImageText(vm), "-");  // a server older than Vm.image
  vm.set_image("debian");
  EXPECT_EQ(ImageText(vm), "debian");
  EXPECT_EQ(BytesText(0), "0K");
  EXPECT_EQ(BytesText(1000), "1K");
  EXPECT_EQ(BytesText(16 << 20), "16M");
  EXPECT_EQ(BytesText((16 << 20) + 1), "17M");
  EXPECT_EQ(BytesText(uint64_t{1} << 30), "1.0G");
  EXPECT_EQ(BytesText((uint64_t{12} << 30) / 10), "1.2G");
  EXPECT_EQ(BytesText(uint64_t{20} << 30), "20G");
  v1::Image image;
  image.set_default_mem_mib(96);
  image.set_min_mem_mib(64);
  EXPECT_EQ(ImageMemText(image), "96M (min 64M)");
}

TEST(FormatTest, Changes) {
  v1::Change change;
  change.set_type(v1::Change::CREATED);
  v1::Vm* vm = change.mutable_vm();
  vm->set_name("vm1");
  vm->set_state(v1::VM_STATE_DEFINED);
  vm->set_mem_mib(64);
  EXPECT_EQ(ChangeText(change), "created vm vm1 (defined, 64 MiB, -)");
  change.set_type(v1::Change::DELETED);
  EXPECT_EQ(ChangeText(change), "deleted vm vm1");

  v1::Change link_change;
  link_change.set_type(v1::Change::UPDATED);
  v1::Link* link = link_change.mutable_link();
  link->mutable_endpoint()->set_tap("t0");
  link->set_lan("lan1");
  link->set_up(true);
  link->mutable_from_lan()->set_loss_percent(5);
  EXPECT_EQ(ChangeText(link_change), "updated link tap:t0 -> lan1 (up, from-lan loss=5%)");

  v1::Change lan_change;
  lan_change.set_type(v1::Change::CREATED);
  lan_change.mutable_lan()->set_name("lan1");
  lan_change.mutable_lan()->set_mode(v1::LAN_MODE_HUB);
  EXPECT_EQ(ChangeText(lan_change), "created lan lan1 (hub)");
}

TEST(FormatTest, PlanActionsAndCodes) {
  EXPECT_EQ(PlanActionText(v1::PlanItem::CONNECT), "CONNECT");
  EXPECT_EQ(PlanActionText(v1::PlanItem::ACTION_UNSPECIFIED), "?");
  EXPECT_EQ(StatusCodeName(5), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(9), "FAILED_PRECONDITION");
  EXPECT_EQ(StatusCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(99), "CODE_99");
}

TEST(FormatTest, JsonOneLineAndPretty) {
  v1::Lan lan;
  lan.set_name("lan1");
  lan.set_mode(v1::LAN_MODE_HUB);
  EXPECT_EQ(ToJson(lan, false), R"({"name":"lan1","mode":"LAN_MODE_HUB"})");
  EXPECT_THAT(ToJson(lan, true), HasSubstr("\n"));
  v1::Network network;
  network.set_revision(7);
  EXPECT_EQ(ToJson(network, false), R"({"revision":"7"})");
}

TEST(FormatTest, GuestAndStartup) {
  v1::GuestConfig guest;
  EXPECT_EQ(GuestText(guest), "none");
  guest.add_files()->set_path("/etc/motd");
  (*guest.mutable_sysctls())["net.ipv4.ip_forward"] = "1";
  (*guest.mutable_sysctls())["net.ipv6.conf.all.forwarding"] = "1";
  v1::NicAddress* a = guest.add_addresses();
  a->set_nic(1);
  a->set_cidr("10.0.1.1/24");
  a = guest.add_addresses();
  a->set_nic(1);
  a->set_cidr("fd00::1/64");
  guest.set_startup("echo a\necho b");
  EXPECT_EQ(GuestText(guest), "1 file, 2 sysctls, 2 addresses, startup script (2 lines)");
  EXPECT_EQ(NicAddressesText(guest, 1), "10.0.1.1/24 fd00::1/64");
  EXPECT_EQ(NicAddressesText(guest, 2), "-");

  v1::StartupStatus startup;
  startup.set_state(v1::StartupStatus::STATE_FAILED);
  startup.set_exit_code(4);
  EXPECT_EQ(StartupText(startup), "failed (exit 4)");
  startup.set_state(v1::StartupStatus::STATE_DONE);
  EXPECT_EQ(StartupText(startup), "done");
}

}  // namespace
}  // namespace clownix::cli
