#include "clients/cli/lab_command.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "clients/cli/command_table.h"
#include "clients/cli/format.h"
#include "clients/cli/guest_readiness.h"
#include "clients/cli/lab/lab_plan.h"
#include "clients/cli/lab/lab_reader.h"
#include "clients/cli/lab/proto_yaml.h"
#include "clients/cli/labtest/lab_test_command.h"
#include "clients/cli/table.h"
#include "clients/cli/values.h"

namespace clownix::cli {
namespace {

void PrintWarnings(CommandEnv& env, const Lab& lab) {
  for (const std::string& warning : lab.warnings) env.err() << "warning: " << warning << "\n";
}

// Reads DIR, printing its warnings.
absl::StatusOr<Lab> ReadLabWithWarnings(CommandEnv& env, const std::string& dir) {
  absl::StatusOr<Lab> lab = ReadLab(dir);
  if (lab.ok()) PrintWarnings(env, *lab);
  return lab;
}

std::string WavesText(const std::vector<std::vector<std::string>>& waves) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < waves.size(); ++i) {
    parts.push_back(absl::StrCat(i + 1, ": ", absl::StrJoin(waves[i], " ")));
  }
  return absl::StrJoin(parts, "; ");
}

absl::StatusOr<v1::Network> GetTopology(CommandEnv& env) {
  v1::Network network;
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status =
      env.client().topology().GetTopology(&context, v1::GetTopologyRequest(), &network);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return network;
}

// "eth0:a eth1:b": every NIC (a lab VM's eth0 is a lab NIC).
std::string LabNicsText(const v1::Vm& vm) {
  std::vector<std::string> parts;
  for (const v1::Nic& nic : vm.nics()) {
    parts.push_back(absl::StrCat("eth", nic.index(), ":", nic.lan().empty() ? "-" : nic.lan()));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, " ");
}

// A lab by directory or by name: the name, and the lab when it was a directory.
struct LabRef {
  std::string name;
  std::optional<Lab> lab;
};

absl::StatusOr<LabRef> ResolveLab(CommandEnv& env, const std::string& dir_or_name) {
  std::error_code error;
  if (std::filesystem::is_directory(dir_or_name, error)) {
    absl::StatusOr<Lab> lab = ReadLabWithWarnings(env, dir_or_name);
    if (!lab.ok()) return lab.status();
    return LabRef{lab->name, *std::move(lab)};
  }
  if (dir_or_name.find('/') != std::string::npos) {
    return absl::NotFoundError(absl::StrCat("lab directory ", dir_or_name, " does not exist"));
  }
  return LabRef{dir_or_name, std::nullopt};
}

int Convert(CommandEnv& env, const std::vector<std::string>& args) {
  bool json = false;
  ArgParser parser(
      "clownix lab convert DIR [--json]",
      "Prints the clownix topology file (YAML, or JSON with --json) that runs the Kathará or\n"
      "Netkit lab in DIR: `clownix lab convert DIR > lab.yaml && clownix apply lab.yaml --wait`.\n"
      "What does not carry over is printed as warnings on stderr. A topology file has no boot\n"
      "order: the YAML lists lab.dep's in a comment (`clownix lab up DIR` follows it).");
  parser.AddBool("json", "print JSON (the protobuf mapping of clownix.v1.Network)", &json);
  if (int code = ParseOrExit(env, "lab convert", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, 1, "DIR"); !usage.ok()) {
    return env.UsageError("lab convert", usage);
  }
  absl::StatusOr<Lab> lab = ReadLabWithWarnings(env, parser.positionals()[0]);
  if (!lab.ok()) return env.Error(lab.status());
  if (json) {
    env.out() << ToJson(lab->network, /*pretty=*/true) << "\n";
    return kExitOk;
  }
  env.out() << "# The lab " << lab->name << " (" << parser.positionals()[0]
            << "), converted by `clownix lab convert`.\n";
  for (const auto& [key, value] : lab->metadata) env.out() << "# " << key << ": " << value << "\n";
  if (lab->waves.size() > 1) {
    env.out() << "# Boot order from lab.dep (`clownix apply` boots every VM at once; `clownix lab "
                 "up` boots\n# each wave once the previous one's startups finished): "
              << WavesText(lab->waves) << "\n";
  }
  env.out() << ToYaml(lab->network);
  return kExitOk;
}

int Up(CommandEnv& env, const std::vector<std::string>& args) {
  std::string wait_timeout_text = "10m";
  bool restart = false;
  ArgParser parser(
      "clownix lab up DIR [--wait-timeout D] [--restart]",
      "Runs the Kathará or Netkit lab in DIR: its machines (VMs without the admin network, so\n"
      "that dev[0] is eth0), collision domains (LANs) and bridged taps, each labelled\n"
      "clownix.lab=NAME. Boots lab.dep's waves in order, each once the previous wave's\n"
      "startups finished; prints each machine's startup result; exits 1 if one failed or\n"
      "is down. Refuses, creating nothing, when a VM, LAN or tap it needs exists and is not\n"
      "the lab's. Run again, it changes only what differs.");
  parser.AddString("wait-timeout", "D", "how long to wait for the startups in all (default 10m)",
                   &wait_timeout_text);
  parser.AddBool("restart", "restart running machines whose configuration changed", &restart);
  if (int code = ParseOrExit(env, "lab up", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, 1, "DIR"); !usage.ok()) {
    return env.UsageError("lab up", usage);
  }
  absl::StatusOr<uint32_t> wait_ms = ParseDurationMs("--wait-timeout", wait_timeout_text);
  if (!wait_ms.ok()) return env.UsageError("lab up", wait_ms.status());
  absl::StatusOr<Lab> lab = ReadLabWithWarnings(env, parser.positionals()[0]);
  if (!lab.ok()) return env.Error(lab.status());
  absl::StatusOr<v1::Network> current = GetTopology(env);
  if (!current.ok()) return env.Error(current.status());
  if (std::vector<std::string> conflicts = LabConflicts(*lab, *current); !conflicts.empty()) {
    return env.Error(absl::FailedPreconditionError(
        absl::StrCat("lab ", lab->name, " needs ", absl::StrJoin(conflicts, ", "),
                     ", which exist and are not this lab's; nothing was created (remove them, or "
                     "`clownix lab down` the lab that has them)")));
  }

  const absl::Time deadline = absl::Now() + absl::Milliseconds(*wait_ms);
  VmsSeen seen;
  for (size_t wave = 0; wave < lab->waves.size(); ++wave) {
    v1::ApplyRequest request;
    *request.mutable_desired() = LabUpToWave(*lab, wave);
    request.set_restart_changed_guests(restart);
    v1::ApplyResponse response;
    grpc::ClientContext context;
    env.client().SetDeadline(context);
    grpc::Status status = env.client().topology().Apply(&context, request, &response);
    if (!status.ok()) return env.RpcError(status);
    int failed = 0;
    for (const v1::PlanItem& item : response.plan()) {
      if (item.status_code() == 0) continue;
      ++failed;
      env.err() << "clownix: " << PlanActionText(item.action()) << " " << item.kind() << " "
                << item.name() << ": " << StatusCodeName(item.status_code()) << ": "
                << item.status_message() << "\n";
    }
    env.out() << "lab " << lab->name << ": wave " << wave + 1 << " of " << lab->waves.size() << " ("
              << absl::StrJoin(lab->waves[wave], " ") << "): " << response.plan_size() - failed
              << " change(s) applied, revision " << response.revision() << "\n";
    if (failed > 0) {
      env.err() << "clownix: lab " << lab->name << ": " << failed
                << " change(s) failed; later waves were not started\n";
      return kExitFailure;
    }
    const std::set<std::string> names(lab->waves[wave].begin(), lab->waves[wave].end());
    VmsSeen wave_seen;
    absl::Status waited = WaitForGuests(env.client().topology(), names, deadline, &wave_seen);
    for (auto& [name, vm] : wave_seen) seen[name] = vm;
    if (absl::IsDeadlineExceeded(waited)) {
      env.err() << "clownix: lab " << lab->name << ": wave " << wave + 1 << " was not ready within "
                << wait_timeout_text << "\n";
      break;
    }
    if (!waited.ok()) return env.Error(waited);
  }

  Table table({"MACHINE", "STATE", "STARTUP", "EXIT", "NICS"});
  int not_ready = 0;
  std::string failures;
  for (const std::string& name : lab->machines) {
    auto it = seen.find(name);
    const v1::Vm* vm = it == seen.end() ? nullptr : &it->second;
    const Readiness readiness = ReadinessOf(vm);
    not_ready += readiness != Readiness::kReady;
    const bool finished =
        vm != nullptr && (vm->startup().state() == v1::StartupStatus::STATE_DONE ||
                          vm->startup().state() == v1::StartupStatus::STATE_FAILED);
    table.AddRow(
        {name, vm ? VmStateText(*vm, /*with_reason=*/false) : "-", ReadinessName(readiness),
         finished ? absl::StrCat(vm->startup().exit_code()) : "-", vm ? LabNicsText(*vm) : "-"});
    if (readiness == Readiness::kFailed) {
      absl::StrAppend(&failures, "--- ", name, ": startup output\n", vm->startup().output(), "\n");
    } else if (readiness == Readiness::kDown) {
      absl::StrAppend(&failures, "--- ", name, ": ", vm->state_reason(), "\n");
    }
  }
  table.Print(env.out());
  env.out() << failures;
  if (not_ready > 0) {
    env.err() << "clownix: lab " << lab->name << ": " << not_ready << " machine(s) not ready\n";
    return kExitFailure;
  }
  return kExitOk;
}

int Down(CommandEnv& env, const std::vector<std::string>& args) {
  ArgParser parser(
      "clownix lab down DIR|NAME",
      "Halts the lab's running machines (so that their .shutdown scripts run), then deletes\n"
      "its VMs, taps and LANs: everything labelled clownix.lab=NAME (NAME: LAB_NAME, else the\n"
      "directory's name).");
  if (int code = ParseOrExit(env, "lab down", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, 1, "DIR|NAME"); !usage.ok()) {
    return env.UsageError("lab down", usage);
  }
  absl::StatusOr<LabRef> ref = ResolveLab(env, parser.positionals()[0]);
  if (!ref.ok()) return env.Error(ref.status());
  absl::StatusOr<v1::Network> current = GetTopology(env);
  if (!current.ok()) return env.Error(current.status());
  const v1::Network objects = LabObjects(*current, ref->name);
  if (objects.vms_size() + objects.lans_size() + objects.taps_size() == 0) {
    env.out() << "lab " << ref->name << ": nothing to remove\n";
    return kExitOk;
  }

  // Halts at once, each on its own thread: a halt waits for the guest's shutdown script. Each
  // thread writes only its own slot.
  std::vector<const v1::Vm*> running;
  for (const v1::Vm& vm : objects.vms()) {
    if (vm.state() == v1::VM_STATE_RUNNING || vm.state() == v1::VM_STATE_BOOTING) {
      running.push_back(&vm);
    }
  }
  std::vector<grpc::Status> halted(running.size());
  {
    // The client exists already (GetTopology made it): the threads only use its stubs, which are
    // thread-safe.
    Client& client = env.client();
    std::vector<std::thread> threads;
    for (size_t i = 0; i < running.size(); ++i) {
      threads.emplace_back([&client, &running, &halted, i] {
        v1::HaltRequest request;
        request.set_vm(running[i]->name());
        v1::VmResponse response;
        grpc::ClientContext context;
        client.SetDeadline(context, absl::Seconds(10));
        halted[i] = client.machines().Halt(&context, request, &response);
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  int failed = 0;
  for (size_t i = 0; i < running.size(); ++i) {
    // A VM that would not halt cleanly is killed by the delete below; say so, and go on.
    if (!halted[i].ok()) {
      env.err() << "warning: halting " << running[i]->name() << ": " << halted[i].error_message()
                << " (" << StatusCodeName(halted[i].error_code()) << "); deleting it anyway\n";
    }
  }
  auto report = [&](const grpc::Status& status, const std::string& what) {
    if (status.ok()) return;
    ++failed;
    env.err() << "clownix: deleting " << what << ": " << status.error_message() << " ("
              << StatusCodeName(status.error_code()) << ")\n";
  };
  for (const v1::Vm& vm : objects.vms()) {
    v1::DeleteVmRequest request;
    request.set_name(vm.name());
    v1::MutationResponse response;
    grpc::ClientContext context;
    env.client().SetDeadline(context);
    report(env.client().topology().DeleteVm(&context, request, &response),
           absl::StrCat("vm ", vm.name()));
  }
  for (const v1::Tap& tap : objects.taps()) {
    v1::DeleteTapRequest request;
    request.set_name(tap.name());
    v1::MutationResponse response;
    grpc::ClientContext context;
    env.client().SetDeadline(context);
    report(env.client().topology().DeleteTap(&context, request, &response),
           absl::StrCat("tap ", tap.name()));
  }
  for (const v1::Lan& lan : objects.lans()) {
    v1::DeleteLanRequest request;
    request.set_name(lan.name());
    v1::MutationResponse response;
    grpc::ClientContext context;
    env.client().SetDeadline(context);
    report(env.client().topology().DeleteLan(&context, request, &response),
           absl::StrCat("lan ", lan.name()));
  }
  env.out() << "lab " << ref->name << ": halted " << running.size() << ", deleted "
            << objects.vms_size() << " VM(s), " << objects.taps_size() << " tap(s), "
            << objects.lans_size() << " LAN(s)" << (failed > 0 ? " (some failed)" : "") << "\n";
  return failed > 0 ? kExitFailure : kExitOk;
}

int Status(CommandEnv& env, const std::vector<std::string>& args) {
  ArgParser parser("clownix lab status DIR|NAME",
                   "Shows a lab's machines (state, startup, NICs and their LANs), LANs and taps.");
  if (int code = ParseOrExit(env, "lab status", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, 1, "DIR|NAME"); !usage.ok()) {
    return env.UsageError("lab status", usage);
  }
  absl::StatusOr<LabRef> ref = ResolveLab(env, parser.positionals()[0]);
  if (!ref.ok()) return env.Error(ref.status());
  absl::StatusOr<v1::Network> current = GetTopology(env);
  if (!current.ok()) return env.Error(current.status());
  const v1::Network objects = LabObjects(*current, ref->name);
  env.out() << "lab " << ref->name << "\n";
  if (ref->lab.has_value()) {
    for (const auto& [key, value] : ref->lab->metadata) {
      env.out() << "  " << key << ": " << value << "\n";
    }
    if (ref->lab->waves.size() > 1) {
      env.out() << "  boot order (lab.dep): " << WavesText(ref->lab->waves) << "\n";
    }
  }
  std::map<std::string, const v1::Vm*> vms;
  for (const v1::Vm& vm : objects.vms()) vms[vm.name()] = &vm;
  std::vector<std::string> names;
  if (ref->lab.has_value()) names = ref->lab->machines;
  for (const v1::Vm& vm : objects.vms()) {
    if (std::find(names.begin(), names.end(), vm.name()) == names.end()) names.push_back(vm.name());
  }
  Table table({"MACHINE", "STATE", "STARTUP", "IMAGE", "NICS"});
  for (const std::string& name : names) {
    auto it = vms.find(name);
    if (it == vms.end()) {
      table.AddRow({name, "absent", "-", "-", "-"});
      continue;
    }
    const v1::Vm& vm = *it->second;
    table.AddRow({name, VmStateText(vm, /*with_reason=*/false), StartupText(vm.startup()),
                  ImageText(vm), LabNicsText(vm)});
  }
  table.Print(env.out());
  std::map<std::string, std::vector<std::string>> endpoints;
  for (const v1::Link& link : current->links()) {
    endpoints[link.lan()].push_back(EndpointText(link.endpoint()));
  }
  if (objects.lans_size() > 0) {
    Table lans({"LAN", "ENDPOINTS"});
    for (const v1::Lan& lan : objects.lans()) {
      auto it = endpoints.find(lan.name());
      lans.AddRow({lan.name(), it == endpoints.end() ? "-" : absl::StrJoin(it->second, " ")});
    }
    env.out() << "\n";
    lans.Print(env.out());
  }
  for (const v1::Tap& tap : objects.taps()) {
    env.out() << "tap " << tap.name() << " on " << (tap.lan().empty() ? "-" : tap.lan()) << "\n";
  }
  if (objects.vms_size() == 0 && objects.lans_size() == 0) {
    env.out() << "(nothing of this lab exists: `clownix lab up DIR` runs it)\n";
  }
  return kExitOk;
}

constexpr Command kLabCommands[] = {
    {"up", "DIR [--wait-timeout D] [--restart]", "run a Kathará or Netkit lab, lab.dep in order",
     Up},
    {"down", "DIR|NAME", "halt and delete a lab's machines, LANs and taps", Down},
    {"status", "DIR|NAME", "a lab's machines, their startups and LANs", Status},
    {"convert", "DIR [--json]", "print the lab as a clownix topology file", Convert},
    {"test", "DIR [--record] [--timeout D]", "compare a running lab with its recorded signature",
     RunLabTestCommand},
};

}  // namespace

int RunLabCommand(CommandEnv& env, const std::vector<std::string>& args) {
  return RunCommandTable(env, "lab",
                         "Kathará and Netkit lab directories (lab.conf, lab.dep, MACHINE.startup, "
                         "shared/, MACHINE/)\non clownix: docs/labs.md.",
                         kLabCommands, args);
}

}  // namespace clownix::cli
