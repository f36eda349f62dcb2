#include "clients/cli/labtest/lab_test_command.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/cli/lab/lab_reader.h"
#include "clients/cli/labtest/lab_signature.h"
#include "clients/cli/labtest/line_diff.h"
#include "clients/cli/values.h"
#include "common/file_io.h"

namespace clownix::cli {
namespace {

using labtest::VmNames;

constexpr absl::Duration kPollInterval = absl::Seconds(1);
// One probe runs ip, ss and one vtysh; a loaded two-core host can take seconds for each.
constexpr uint32_t kProbeTimeoutMs = 60000;

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::string SignatureDir(const Lab& lab) {
  return (std::filesystem::path(lab.dir) / "_test" / "signature").string();
}

std::string SignaturePath(const Lab& lab, const std::string& machine) {
  return (std::filesystem::path(SignatureDir(lab)) / machine).string();
}

// Each machine's _test/NAME.test ("" when it has none), NAME as lab.conf writes it.
absl::StatusOr<std::map<std::string, std::string>> ReadTestScripts(const Lab& lab) {
  std::map<std::string, std::string> scripts;
  for (const std::string& machine : lab.machines) {
    auto original = lab.original_names.find(machine);
    std::string name = original != lab.original_names.end() ? original->second : machine;
    absl::StatusOr<std::string> script = common::ReadFileIfExists(
        (std::filesystem::path(lab.dir) / "_test" / absl::StrCat(name, ".test")).string(),
        64 << 10);
    if (!script.ok()) return script.status();
    scripts[machine] = *std::move(script);
  }
  return scripts;
}

// Takes the signatures of a lab's machines: one Exec each, at most `jobs` at once.
class Prober {
 public:
  Prober(CommandEnv& env, std::map<std::string, std::string> scripts, int jobs)
      : env_(env), scripts_(std::move(scripts)), jobs_(std::max(jobs, 1)) {}

  // The signature of each of `machines`, or why it could not be taken.
  std::map<std::string, absl::StatusOr<std::string>> Probe(
      const std::vector<std::string>& machines) {
    std::map<std::string, absl::StatusOr<std::string>> out;
    absl::StatusOr<v1::Network> network = Topology();
    if (!network.ok()) {
      for (const std::string& machine : machines) out.emplace(machine, network.status());
      return out;
    }
    VmNames names;
    std::map<std::string, const v1::Vm*> vms;
    for (const v1::Vm& vm : network->vms()) {
      names.vms[static_cast<int>(vm.number())] = vm.name();
      for (const auto& [index, mac] : vm.nic_macs()) {
        names.chosen_macs.insert(absl::AsciiStrToLower(mac));
      }
      vms[vm.name()] = &vm;
    }
    std::vector<absl::StatusOr<std::string>> results(machines.size(), absl::UnknownError(""));
    std::atomic<size_t> next{0};
    auto work = [&]() {
      for (size_t i = next++; i < machines.size(); i = next++) {
        auto vm = vms.find(machines[i]);
        if (vm == vms.end()) {
          results[i] = absl::NotFoundError(
              absl::StrCat("machine \"", machines[i], "\" does not exist (clownix lab up DIR)"));
        } else if (vm->second->state() != v1::VM_STATE_RUNNING) {
          results[i] = absl::FailedPreconditionError(
              absl::StrCat("machine \"", machines[i], "\" is not running (",
                           v1::VmState_Name(vm->second->state()), ")"));
        } else {
          results[i] = ProbeOne(machines[i], names);
        }
      }
    };
    std::vector<std::thread> threads;
    for (size_t t = 0; t < std::min<size_t>(jobs_, machines.size()); ++t) {
      threads.emplace_back(work);
    }
    for (std::thread& thread : threads) thread.join();
    for (size_t i = 0; i < machines.size(); ++i) out.emplace(machines[i], std::move(results[i]));
    return out;
  }

 private:
  absl::StatusOr<v1::Network> Topology() {
    v1::Network network;
    grpc::ClientContext context;
    env_.client().SetDeadline(context);
    grpc::Status status =
        env_.client().topology().GetTopology(&context, v1::GetTopologyRequest(), &network);
    if (!status.ok()) return FromGrpc(status);
    return network;
  }

  absl::StatusOr<std::string> ProbeOne(const std::string& machine, const VmNames& names) {
    auto test = scripts_.find(machine);
    absl::StatusOr<std::string> script =
        labtest::SignatureScript(test != scripts_.end() ? test->second : "");
    if (!script.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("_test/", machine, ".test: ", script.status().message()));
    }
    v1::ExecRequest request;
    request.set_vm(machine);
    request.set_command(*script);
    request.set_timeout_ms(kProbeTimeoutMs);
    v1::ExecResponse response;
    grpc::ClientContext context;
    env_.client().SetDeadline(context, absl::Milliseconds(kProbeTimeoutMs));
    grpc::Status status = env_.client().machines().Exec(&context, request, &response);
    if (!status.ok()) {
      return absl::Status(FromGrpc(status).code(),
                          absl::StrCat("machine \"", machine, "\": ", status.error_message()));
    }
    if (response.truncated()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("machine \"", machine, "\": the signature's output passed 1 MiB"));
    }
    return labtest::NormalizeSignature(machine, response.output(), names);
  }

  CommandEnv& env_;
  const std::map<std::string, std::string> scripts_;  // Only read once the workers run.
  const int jobs_;
};

void SleepUntil(absl::Time when) {
  absl::Duration left = when - absl::Now();
  if (left > absl::ZeroDuration()) absl::SleepFor(left);
}

int Record(CommandEnv& env, const Lab& lab, Prober& prober, absl::Duration timeout,
           absl::Duration settle) {
  const absl::Time deadline = absl::Now() + timeout;
  struct Seen {
    std::string signature;
    absl::Time since;
  };
  std::map<std::string, Seen> seen;
  while (true) {
    const absl::Time start = absl::Now();
    std::vector<std::string> problems;
    std::vector<std::string> changing;
    for (auto& [machine, signature] : prober.Probe(lab.machines)) {
      if (!signature.ok()) {
        problems.push_back(std::string(signature.status().message()));
        seen.erase(machine);
        continue;
      }
      auto it = seen.find(machine);
      if (it == seen.end() || it->second.signature != *signature) {
        seen[machine] = {*signature, start};
      }
      for (const std::string& reason : labtest::UnsettledReasons(*signature)) {
        problems.push_back(absl::StrCat(machine, ": ", reason));
      }
      if (start - seen[machine].since < settle) changing.push_back(machine);
    }
    if (problems.empty() && changing.empty()) break;
    if (absl::Now() >= deadline) {
      env.err() << "clownix: the lab did not settle in " << absl::FormatDuration(timeout)
                << "; nothing recorded:\n";
      for (const std::string& problem : problems) env.err() << "  " << problem << "\n";
      if (!changing.empty()) {
        env.err() << "  still changing: " << absl::StrJoin(changing, " ") << "\n";
      }
      return kExitFailure;
    }
    SleepUntil(start + kPollInterval);
  }
  std::error_code error;
  std::filesystem::create_directories(SignatureDir(lab), error);
  if (error) {
    return env.Error(absl::InternalError(
        absl::StrCat("cannot create ", SignatureDir(lab), ": ", error.message())));
  }
  for (const std::string& machine : lab.machines) {
    absl::Status written =
        common::WriteFileDurably(SignaturePath(lab, machine), seen[machine].signature, 0644);
    if (!written.ok()) return env.Error(written);
  }
  env.out() << "recorded the signatures of " << lab.machines.size() << " machine(s) in "
            << SignatureDir(lab) << "\n";
  return kExitOk;
}

int Compare(CommandEnv& env, const Lab& lab, Prober& prober, absl::Duration timeout) {
  const std::string dir = SignatureDir(lab);
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return env.Error(absl::NotFoundError(absl::StrCat("no recorded signatures in ", dir,
                                                      ": record them with clownix lab test ",
                                                      lab.dir, " --record")));
  }
  // What differs for good: a machine without a signature, a signature without a machine.
  std::vector<std::string> missing;
  std::map<std::string, std::string> recorded;
  for (const std::string& machine : lab.machines) {
    absl::StatusOr<std::string> text = common::ReadFile(SignaturePath(lab, machine), 16 << 20);
    if (absl::IsNotFound(text.status())) {
      missing.push_back(
          absl::StrCat(machine, ": no recorded signature (", SignaturePath(lab, machine), ")"));
    } else if (!text.ok()) {
      return env.Error(text.status());
    } else {
      recorded[machine] = *std::move(text);
    }
  }
  std::set<std::string> machines(lab.machines.begin(), lab.machines.end());
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    std::string name = entry.path().filename().string();
    if (machines.count(name) == 0) {
      missing.push_back(absl::StrCat(name, ": recorded, but the lab has no such machine"));
    }
  }
  // Compared again until equal: routing converges after the startups have finished.
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<std::string> pending;
  for (const auto& [machine, text] : recorded) pending.push_back(machine);
  std::map<std::string, std::string> differences;
  while (!pending.empty()) {
    const absl::Time start = absl::Now();
    differences.clear();
    for (auto& [machine, signature] : prober.Probe(pending)) {
      if (!signature.ok()) {
        differences[machine] = absl::StrCat(signature.status().message(), "\n");
        continue;
      }
      std::string diff = labtest::UnifiedDiff(
          recorded[machine], *signature, absl::StrCat(SignaturePath(lab, machine), " (recorded)"),
          absl::StrCat(machine, " (running)"));
      if (!diff.empty()) differences[machine] = std::move(diff);
    }
    pending.clear();
    for (const auto& [machine, diff] : differences) pending.push_back(machine);
    if (pending.empty() || absl::Now() >= deadline) break;
    SleepUntil(start + kPollInterval);
  }
  for (const auto& [machine, diff] : differences) {
    env.out() << machine << ": differs from its signature:\n" << diff;
  }
  for (const std::string& line : missing) env.out() << line << "\n";
  size_t failed = differences.size() + missing.size();
  if (failed == 0) {
    env.out() << "lab test: " << lab.machines.size()
              << " machine(s) match their recorded signatures\n";
    return kExitOk;
  }
  env.out() << "lab test: " << failed << " difference(s) from the signatures in " << dir
            << (differences.empty() ? "" : absl::StrCat(" after ", absl::FormatDuration(timeout)))
            << "\n";
  return kExitFailure;
}

}  // namespace

int RunLabTestCommand(CommandEnv& env, const std::vector<std::string>& args) {
  bool record = false;
  std::string timeout_text;
  std::string settle_text = "10s";
  std::string jobs_text = "4";
  ArgParser parser(
      "clownix lab test DIR [--record] [--timeout D] [--settle D] [--jobs N]",
      "Checks a running lab against its recorded signature (Netkit's ltest): per machine its\n"
      "addresses, routes, listening ports, FRR routes, OSPF neighbours and BGP sessions, and the\n"
      "output of DIR/_test/MACHINE.test when there is one. --record saves them in\n"
      "DIR/_test/signature/MACHINE once the lab has settled. Without it, compares until they\n"
      "match or D passes, prints the differences per machine and exits 1 when some remain.");
  parser.AddBool("record", "save the running lab's signatures instead of comparing", &record);
  parser.AddString("timeout", "D",
                   "give up after D (default 60s; with --record, 180s: the lab must settle)",
                   &timeout_text);
  parser.AddString("settle", "D",
                   "--record: a machine's signature must stay the same for D (default 10s)",
                   &settle_text);
  parser.AddString("jobs", "N", "probe at most N machines at once (default 4)", &jobs_text);
  if (int code = ParseOrExit(env, "lab test", parser, args); code >= 0) return code;
  absl::Status usage = parser.ExpectPositionals(1, 1, "DIR");
  if (timeout_text.empty()) timeout_text = record ? "180s" : "60s";
  absl::StatusOr<uint32_t> timeout_ms = ParseDurationMs("--timeout", timeout_text);
  absl::StatusOr<uint32_t> settle_ms = ParseDurationMs("--settle", settle_text);
  absl::StatusOr<uint32_t> jobs = ParseUint32("--jobs", jobs_text);
  for (const absl::Status& status : {timeout_ms.status(), settle_ms.status(), jobs.status()}) {
    if (usage.ok()) usage = status;
  }
  if (usage.ok() && (*jobs == 0 || *jobs > 64)) {
    usage = absl::InvalidArgumentError("--jobs must be 1..64");
  }
  if (!usage.ok()) return env.UsageError("lab test", usage);

  absl::StatusOr<Lab> lab = ReadLab(parser.positionals()[0]);
  if (!lab.ok()) return env.Error(lab.status());
  absl::StatusOr<std::map<std::string, std::string>> scripts = ReadTestScripts(*lab);
  if (!scripts.ok()) return env.Error(scripts.status());
  env.client();  // Made here, before the probing threads share it.
  Prober prober(env, *std::move(scripts), static_cast<int>(*jobs));
  if (record) {
    return Record(env, *lab, prober, absl::Milliseconds(*timeout_ms),
                  absl::Milliseconds(*settle_ms));
  }
  return Compare(env, *lab, prober, absl::Milliseconds(*timeout_ms));
}

}  // namespace clownix::cli
