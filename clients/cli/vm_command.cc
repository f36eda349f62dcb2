#include "clients/cli/vm_command.h"

#include <map>

#include "clients/cli/command_table.h"
#include "clients/cli/format.h"
#include "clients/cli/table.h"
#include "clients/cli/values.h"
#include "clients/common/vm_facts.h"

namespace clownix::cli {
namespace {

int Add(CommandEnv& env, const std::vector<std::string>& args) {
  std::string mem;
  std::string nics;
  std::string image;
  std::vector<std::string> labels;
  bool admin = false;
  bool no_admin = false;
  ArgParser parser(
      "clownix vm add NAME [--image IMAGE] [--mem MIB] [--nics N] [--no-admin|--admin]\n"
      "                    [--label KEY=VALUE]...",
      "Defines a VM and boots it when the server has a VM runtime. Its eth0 joins the admin LAN\n"
      "(unless --no-admin, or the server's default says otherwise); connect the others (eth1..)\n"
      "with 'clownix connect'.");
  parser.AddString("image", "IMAGE",
                   "the image it boots, from 'clownix image ls' (default: the server's)", &image);
  parser.AddString("mem", "MIB",
                   "guest memory in MiB, 48..8192 (default: the image's, 64 for tiny)", &mem);
  parser.AddString("nics", "N", "number of NICs including the admin eth0, 1..8 (default 1)", &nics);
  parser.AddBool(
      "no-admin",
      "no admin network: eth0 is a lab NIC (in the guest while linked); eth1.. keep their numbers",
      &no_admin);
  parser.AddBool("admin", "the admin network (eth0), whatever the server's default", &admin);
  parser.AddList("label", "KEY=VALUE", "a label for selectors", &labels);
  if (int code = ParseOrExit(env, "vm add", parser, args); code >= 0) return code;

  v1::CreateVmRequest request;
  v1::Vm& vm = *request.mutable_vm();
  absl::Status usage = parser.ExpectPositionals(1, 1, "NAME");
  if (usage.ok() && parser.IsSet("admin") && parser.IsSet("no-admin")) {
    usage = absl::InvalidArgumentError("give --admin or --no-admin, not both");
  }
  if (parser.IsSet("admin")) vm.set_admin(admin);
  if (parser.IsSet("no-admin")) vm.set_admin(!no_admin);
  if (usage.ok() && !mem.empty()) {
    absl::StatusOr<uint32_t> value = ParseUint32("--mem", mem);
    if (value.ok()) vm.set_mem_mib(*value);
    usage = value.status();
  }
  if (usage.ok() && !nics.empty()) {
    absl::StatusOr<uint32_t> value = ParseUint32("--nics", nics);
    if (value.ok()) vm.set_nic_count(*value);
    usage = value.status();
  }
  absl::StatusOr<std::map<std::string, std::string>> label_map = ParseLabels(labels);
  if (usage.ok()) usage = label_map.status();
  if (!usage.ok()) return env.UsageError("vm add", usage);

  vm.set_name(parser.positionals()[0]);
  vm.set_image(image);
  vm.mutable_labels()->insert(label_map->begin(), label_map->end());
  v1::CreateVmResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().topology().CreateVm(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  const v1::Vm& created = response.vm();
  env.out() << "created vm " << created.name() << " (#" << created.number() << ", "
            << VmStateText(created) << ", " << ImageText(created) << ", " << created.mem_mib()
            << " MiB, " << created.nic_count() << " NICs"
            << (!clients::HasAdminNetwork(created) ? ", no admin network"
                : created.admin_ip().empty()       ? ""
                                                   : ", admin " + created.admin_ip())
            << ") at revision " << response.revision() << "\n";
  return kExitOk;
}

int Remove(CommandEnv& env, const std::vector<std::string>& args) {
  ArgParser parser("clownix vm rm NAME...", "Deletes VMs: stops them and removes their links.");
  if (int code = ParseOrExit(env, "vm rm", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, SIZE_MAX, "NAME..."); !usage.ok()) {
    return env.UsageError("vm rm", usage);
  }
  int exit_code = kExitOk;
  for (const std::string& name : parser.positionals()) {
    v1::DeleteVmRequest request;
    request.set_name(name);
    v1::MutationResponse response;
    grpc::ClientContext context;
    env.client().SetDeadline(context);
    grpc::Status status = env.client().topology().DeleteVm(&context, request, &response);
    if (!status.ok()) {
      exit_code = env.RpcError(status);
      continue;
    }
    env.out() << "deleted vm " << name << " at revision " << response.revision() << "\n";
  }
  return exit_code;
}

int List(CommandEnv& env, const std::vector<std::string>& args) {
  std::string selector;
  bool json = false;
  ArgParser parser("clownix vm ls [--selector S] [--json]", "Lists VMs.");
  parser.AddString("selector", "S", "label selector: k=v,k!=v,k,!k (all must hold)", &selector);
  parser.AddBool("json", "print the ListVmsResponse as JSON", &json);
  if (int code = ParseOrExit(env, "vm ls", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(0, 0, "no arguments"); !usage.ok()) {
    return env.UsageError("vm ls", usage);
  }
  v1::ListRequest request;
  request.set_label_selector(selector);
  v1::ListVmsResponse response;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().topology().ListVms(&context, request, &response);
  if (!status.ok()) return env.RpcError(status);
  if (json) {
    env.out() << ToJson(response, /*pretty=*/true) << "\n";
    return kExitOk;
  }
  Table table({"NAME", "#", "STATE", "IMAGE", "MEM", "ADMIN-IP", "NICS", "LABELS"});
  for (const v1::Vm& vm : response.vms()) {
    table.AddRow({vm.name(), std::to_string(vm.number()), VmStateText(vm), ImageText(vm),
                  std::to_string(vm.mem_mib()) + "M", AdminText(vm), NicsText(vm),
                  LabelsText(vm.labels())});
  }
  table.Print(env.out());
  return kExitOk;
}

int Show(CommandEnv& env, const std::vector<std::string>& args) {
  bool json = false;
  ArgParser parser("clownix vm show NAME [--json]", "Shows one VM in detail.");
  parser.AddBool("json", "print the Vm as JSON", &json);
  if (int code = ParseOrExit(env, "vm show", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, 1, "NAME"); !usage.ok()) {
    return env.UsageError("vm show", usage);
  }
  v1::GetVmRequest request;
  request.set_name(parser.positionals()[0]);
  v1::Vm vm;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().topology().GetVm(&context, request, &vm);
  if (!status.ok()) return env.RpcError(status);
  if (json) {
    env.out() << ToJson(vm, /*pretty=*/true) << "\n";
    return kExitOk;
  }
  env.out() << "name:      " << vm.name() << "\n"
            << "number:    " << vm.number() << "\n"
            << "state:     " << VmStateText(vm) << "\n"
            << "image:     " << ImageText(vm) << "\n"
            << "memory:    " << vm.mem_mib() << " MiB\n";
  // Its share of the host, when it has one; a server without the call shows none.
  v1::ServerInfo info;
  grpc::ClientContext info_context;
  env.client().SetDeadline(info_context);
  if (env.client().machines().GetServerInfo(&info_context, {}, &info).ok()) {
    if (std::string text = VmHostMemoryText(info, vm.name()); !text.empty()) {
      env.out() << "host mem:  " << text << "\n";
    }
  }
  env.out() << "admin ip:  "
            << (clients::HasAdminNetwork(vm) ? AdminText(vm)
                                             : "none (no admin network: eth0 is a lab NIC)")
            << "\n"
            << "labels:    " << LabelsText(vm.labels()) << "\n"
            << "guest:     " << GuestText(vm.guest()) << "\n"
            << "startup:   " << StartupText(vm.startup()) << "\n";
  Table nics({"  NIC", "MAC", "LAN", "LINK", "ADDRESSES"});
  for (const v1::Nic& nic : vm.nics()) {
    if (!GuestHasNic(vm, nic)) continue;
    nics.AddRow({"  eth" + std::to_string(nic.index()), nic.mac(),
                 nic.lan().empty() ? "-" : nic.lan(),
                 nic.lan().empty() ? "-" : (nic.link_up() ? "up" : "down"),
                 NicAddressesText(vm.guest(), nic.index())});
  }
  nics.Print(env.out());
  if (!vm.startup().output().empty()) {
    env.out() << "startup output (its end):\n" << vm.startup().output();
    if (vm.startup().output().back() != '\n') env.out() << "\n";
  }
  return kExitOk;
}

constexpr Command kVmCommands[] = {
    {"add", "NAME [--image I] [--mem MIB] [--nics N] [--no-admin] [--label K=V]...",
     "define (and boot) a VM", Add},
    {"rm", "NAME...", "delete VMs", Remove},
    {"ls", "[--selector S] [--json]", "list VMs", List},
    {"show", "NAME [--json]", "show one VM and its NICs", Show},
};

}  // namespace

int RunVmCommand(CommandEnv& env, const std::vector<std::string>& args) {
  return RunCommandTable(env, "vm", "User-Mode-Linux virtual machines.", kVmCommands, args);
}

}  // namespace clownix::cli
