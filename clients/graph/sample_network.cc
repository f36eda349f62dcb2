#include "clients/graph/sample_network.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace clownix::graph {
namespace {

v1::Vm* AddVm(v1::Network* network, const std::string& name, uint32_t nic_count,
              v1::VmState state) {
  v1::Vm* vm = network->add_vms();
  uint32_t number = network->vms_size();
  vm->set_name(name);
  vm->set_number(number);
  vm->set_mem_mib(64);
  vm->set_nic_count(nic_count);
  vm->set_state(state);
  vm->set_admin_ip(absl::StrCat("10.0.", number / 100, ".", number % 100));
  for (uint32_t i = 0; i < nic_count; ++i) {
    v1::Nic* nic = vm->add_nics();
    nic->set_index(i);
    nic->set_mac(absl::StrFormat("02:00:%02d:%02d:00:%02d", number / 100, number % 100, i));
  }
  return vm;
}

v1::Link* Connect(v1::Network* network, v1::Vm* vm, uint32_t index, const std::string& lan) {
  bool up = vm->state() == v1::VM_STATE_RUNNING || vm->state() == v1::VM_STATE_BOOTING;
  v1::Nic* nic = vm->mutable_nics(index);
  nic->set_lan(lan);
  nic->set_link_up(up);
  v1::Link* link = network->add_links();
  link->mutable_endpoint()->mutable_nic()->set_vm(vm->name());
  link->mutable_endpoint()->mutable_nic()->set_index(index);
  link->set_lan(lan);
  link->set_up(up);
  return link;
}

}  // namespace

v1::Network SampleNetwork() {
  v1::Network network;
  network.set_revision(137);
  v1::Lan* core = network.add_lans();
  core->set_name("core");
  (*core->mutable_labels())["site"] = "paris";
  for (int i = 1; i <= 4; ++i) {
    v1::Lan* lan = network.add_lans();
    lan->set_name(absl::StrCat("lan", i));
    if (i == 4) lan->set_mode(v1::LAN_MODE_HUB);
  }
  for (int i = 1; i <= 4; ++i) {
    v1::Vm* router = AddVm(&network, absl::StrCat("r", i), 3, v1::VM_STATE_RUNNING);
    router->set_mem_mib(128);
    (*router->mutable_labels())["role"] = "router";
    Connect(&network, router, 1, "core");
    v1::Link* edge = Connect(&network, router, 2, absl::StrCat("lan", i));
    if (i == 2) {
      edge->mutable_to_lan()->set_delay_us(20000);
      edge->mutable_to_lan()->set_jitter_us(2000);
      edge->mutable_to_lan()->set_loss_percent(1);
      *edge->mutable_from_lan() = edge->to_lan();
    }
    if (i == 3) edge->mutable_from_lan()->set_rate_kbps(10000);
  }
  for (int i = 1; i <= 4; ++i) {
    for (int h = 1; h <= 4; ++h) {
      v1::VmState state = v1::VM_STATE_RUNNING;
      if (i == 2 && h == 3) state = v1::VM_STATE_BOOTING;
      if (i == 3 && h == 4) state = v1::VM_STATE_CRASHED;
      if (i == 4 && h == 1) state = v1::VM_STATE_STOPPED;
      if (i == 4 && h == 2) state = v1::VM_STATE_DEFINED;
      if (i == 1 && h == 4) state = v1::VM_STATE_STOPPING;
      v1::Vm* host = AddVm(&network, absl::StrCat("h", i, "-", h), 2, state);
      if (state == v1::VM_STATE_CRASHED) host->set_state_reason("killed by signal 9");
      if (state == v1::VM_STATE_STOPPED) host->set_state_reason("halted");
      Connect(&network, host, 1, absl::StrCat("lan", i));
    }
  }
  network.add_taps()->set_name("t0");
  v1::Link* tap = network.add_links();
  tap->mutable_endpoint()->set_tap("t0");
  tap->set_lan("core");
  tap->set_up(true);
  network.mutable_taps(0)->set_lan("core");
  return network;
}

}  // namespace clownix::graph
