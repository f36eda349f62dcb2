#include "clients/cli/cli.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clients/cli/apply_command.h"
#include "clients/cli/capture_command.h"
#include "clients/cli/command_env.h"
#include "clients/cli/command_table.h"
#include "clients/cli/connect_command.h"
#include "clients/cli/console_command.h"
#include "clients/cli/disconnect_command.h"
#include "clients/cli/exec_command.h"
#include "clients/cli/image_command.h"
#include "clients/cli/impair_command.h"
#include "clients/cli/lab_command.h"
#include "clients/cli/lan_command.h"
#include "clients/cli/power_command.h"
#include "clients/cli/stats_command.h"
#include "clients/cli/tap_command.h"
#include "clients/cli/topo_command.h"
#include "clients/cli/values.h"
#include "clients/cli/vm_command.h"
#include "clients/cli/watch_command.h"
#include "clients/common/channel_security.h"
#include "clients/common/server_address.h"

namespace clownix::cli {
namespace {

// The verbs, one line each.
constexpr Command kCommands[] = {
    {"lan", "add|rm|ls", "define, delete and list LANs", RunLanCommand},
    {"vm", "add|rm|ls|show", "define, delete, list and inspect VMs", RunVmCommand},
    {"tap", "add|rm|ls", "define, delete and list host taps", RunTapCommand},
    {"image", "ls|show", "list the images VMs boot", RunImageCommand},
    {"connect", "VM NIC LAN | tap:NAME LAN", "plug a VM NIC or a tap into a LAN",
     RunConnectCommand},
    {"disconnect", "VM NIC | tap:NAME", "unplug a VM NIC or a tap", RunDisconnectCommand},
    {"impair", "VM NIC | tap:NAME [--delay D ...]", "show or set a link's delay, loss, ...",
     RunImpairCommand},
    {"topo", "[--json]", "show the whole topology", RunTopoCommand},
    {"watch", "[--since R] [--json]", "follow changes live", RunWatchCommand},
    {"apply", "FILE [--dry-run] [--prune] [--wait]", "make the topology what a YAML/JSON file says",
     RunApplyCommand},
    {"lab", "up|down|status|convert DIR", "run Kathará and Netkit labs", RunLabCommand},
    {"exec", "VM -- CMD...", "run a command in a VM", RunExecCommand},
    {"console", "VM", "attach to a VM's console (Ctrl-] quits)", RunConsoleCommand},
    {"start", "VM", "boot a VM", RunStartCommand},
    {"halt", "VM", "stop a VM", RunHaltCommand},
    {"reboot", "VM", "reboot a VM", RunRebootCommand},
    {"stats", "LAN", "per-port counters of a LAN", RunStatsCommand},
    {"capture", "VM NIC | TAP | LAN [-f FILTER] [-w FILE|-]",
     "capture packets live (pcapng; pipe into tshark)", RunCaptureCommand},
};

constexpr char kSummary[] =
    "clownix drives a clownixd network emulator: User-Mode-Linux VMs wired into emulated LANs.\n"
    "\n"
    "global flags (before COMMAND):\n"
    "  --server ADDR  clownixd address: unix:PATH or HOST:PORT. Default: $CLOWNIX_SERVER, else\n"
    "                 unix:$CLOWNIX_WORK_DIR/clownixd.sock, else unix:/tmp/clownix/clownixd.sock\n"
    "  --timeout D    deadline of each call, e.g. 30s (default 60s)\n"
    "  --ca FILE      TLS: the CA that signed clownixd's certificate (default: $CLOWNIX_CA)\n"
    "  --cert FILE    TLS: client certificate, with --key FILE (default: $CLOWNIX_CERT,\n"
    "                 $CLOWNIX_KEY); HOST:PORT is reached over TLS when --ca or --cert is set\n"
    "  --token T      API token, sent as \"authorization: Bearer T\" (default: $CLOWNIX_TOKEN)\n"
    "  --token_file F the token is F's first line (default: $CLOWNIX_TOKEN_FILE)\n"
    "\n"
    "exit status: 0 ok, 1 failed (the server's message is printed), 2 usage error;\n"
    "exec exits with the command's status.";

}  // namespace

int RunCli(const std::vector<std::string>& args, const char* env_server, const char* env_work_dir,
           std::ostream& out, std::ostream& err,
           absl::FunctionRef<const char*(const char*)> getenv) {
  std::string server;
  std::string timeout = "60s";
  clients::ChannelSecurity security;
  const std::pair<const char*, std::string*> kGlobalFlags[] = {
      {"--server", &server},
      {"--timeout", &timeout},
      {"--ca", &security.ca_file},
      {"--cert", &security.cert_file},
      {"--key", &security.key_file},
      {"--token", &security.token},
      {"--token_file", &security.token_file},
  };
  size_t i = 0;
  // Global flags end at the first word that is not one (the verb, or --help for the table).
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string* target = nullptr;
    std::string name;
    for (const auto& [flag, value] : kGlobalFlags) {
      if (arg == flag || absl::StartsWith(arg, absl::StrCat(flag, "="))) {
        target = value;
        name = flag;
      }
    }
    if (target == nullptr) break;
    if (arg.size() > name.size()) {
      *target = arg.substr(name.size() + 1);
    } else if (i + 1 < args.size()) {
      *target = args[++i];
    } else {
      CommandEnv env("", absl::ZeroDuration(), out, err);
      return env.UsageError("", absl::InvalidArgumentError(absl::StrCat(name, " needs a value")));
    }
  }
  std::vector<std::string> rest(args.begin() + i, args.end());
  CommandEnv usage_env("", absl::ZeroDuration(), out, err);
  if (!rest.empty() && absl::StartsWith(rest[0], "-") && rest[0] != "--help" && rest[0] != "-h") {
    return usage_env.UsageError(
        "", absl::InvalidArgumentError(absl::StrCat("unknown global flag \"", rest[0], "\"")));
  }
  absl::StatusOr<std::string> target = clients::ServerTarget(server, env_server, env_work_dir);
  if (!target.ok()) return usage_env.UsageError("", target.status());
  absl::StatusOr<uint32_t> timeout_ms = ParseDurationMs("--timeout", timeout);
  if (timeout_ms.ok() && *timeout_ms == 0) {
    timeout_ms = absl::InvalidArgumentError("--timeout must be positive");
  }
  if (!timeout_ms.ok()) return usage_env.UsageError("", timeout_ms.status());

  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      clients::MakeChannelCredentials(*target, clients::ChooseChannelSecurity(security, getenv));
  if (!credentials.ok()) return usage_env.UsageError("", credentials.status());

  CommandEnv env(*target, absl::Milliseconds(*timeout_ms), out, err, *std::move(credentials));
  return RunCommandTable(env, "", kSummary, kCommands, rest);
}

}  // namespace clownix::cli
