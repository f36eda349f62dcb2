// clownixd: parses flags, starts the server, stops cleanly on SIGTERM or SIGINT.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/clownix_server.h"
#include "server/log.h"
#include "server/oom_score.h"

ABSL_FLAG(std::string, work_dir, "",
          "Directory for the topology, sockets and VM files (default: $CLOWNIX_WORK_DIR, else "
          "/tmp/clownix). The API listens on WORK_DIR/clownixd.sock.");
ABSL_FLAG(std::string, socket_group, "",
          "Open the unix socket to this group (mode 0660) instead of clownixd's user only (0600). "
          "With --tokens_file, the group's calls need a token.");
ABSL_FLAG(std::string, listen, "",
          "Also serve TLS on TCP HOST:PORT (a bare PORT means 127.0.0.1:PORT); needs --tls_cert, "
          "--tls_key, and --client_ca and/or --tokens_file.");
ABSL_FLAG(std::string, tls_cert, "", "--listen: the server's certificate (chain), a PEM file.");
ABSL_FLAG(std::string, tls_key, "", "--listen: the server's private key, a PEM file.");
ABSL_FLAG(std::string, client_ca, "",
          "--listen: require client certificates signed by this CA (PEM); without --tokens_file "
          "such a client is admin.");
ABSL_FLAG(std::string, insecure_listen, "",
          "Also serve plaintext on TCP HOST:PORT, loopback only (127.0.0.1, [::1], localhost). "
          "Without --tokens_file every local user is admin.");
ABSL_FLAG(std::string, tokens_file, "",
          "API tokens and roles, lines of ROLE NAME TOKEN (viewer, operator, admin); must be "
          "mode 0600 and owned by root or clownixd's user. Calls on TCP and on a --socket_group "
          "socket then need a token.");
ABSL_FLAG(uint32_t, num_tap, 0, "Host taps to make ready for LANs.");
ABSL_FLAG(std::string, ip_admin, "",
          "The host's admin IPv4 address; VM n gets X.Y.n/100.n%100 from its first two bytes.");
ABSL_FLAG(std::string, bulk_dir, "",
          "Directory with the kernel and root_fs (default: built in); BULK_DIR/root_fs replaces "
          "the tiny image's file, and BULK_DIR/images/NAME/ are images too.");
ABSL_FLAG(std::string, image_dir, "/var/cache/clownix/images",
          "Where images are: NAME/image.json and the file it names, one directory per image "
          "(tools/setup.sh builds debian there). Read again when it changes.");
ABSL_FLAG(std::string, default_image, "tiny",
          "The image of a VM created without one (`clownix image ls` lists them).");
ABSL_FLAG(std::string, rsa_public, "", "RSA public key put into each VM for ssh.");
ABSL_FLAG(std::string, rsa_private, "",
          "Accepted for the seed's command line and ignored (clownixd never uses the private "
          "key; a warning is logged).");
ABSL_FLAG(bool, backends, true,
          "Run the network (switch and UML VMs). --nobackends keeps the topology only.");
ABSL_FLAG(
    std::string, admin_netns, "",
    "Network namespace that gets the admin tap and ip_admin: a name (ip netns add) or the pid "
    "of a process inside it (default: the host's).");
ABSL_FLAG(std::string, admin_tap, "clownix0", "Name of the host tap that carries ip_admin.");
ABSL_FLAG(bool, admin_default, true,
          "Whether a VM created without saying (no \"admin\" in its spec) gets the admin network "
          "(eth0 on the admin LAN). --noadmin_default: VMs have no eth0 unless asked for.");
ABSL_FLAG(uint32_t, vm_uid_base, 2100000000,
          "VM n runs as user and group vm_uid_base + n, each VM a user of its own with no "
          "capabilities; 0: VMs run as clownixd's user (landlock still confines them).");
ABSL_FLAG(bool, vm_address_randomization, false,
          "Randomize the address layout of each VM's UML process (ASLR). Off by default: it costs "
          "each guest 9-17 MiB of its memory, and the UML process is confined anyway "
          "(docs/security.md).");
ABSL_FLAG(int64_t, vm_memory_budget_mib, 0,
          "Host memory the VMs may take, MiB; each VM counts as its mem plus 16 MiB for UML. A VM "
          "that does not fit waits (DEFINED, \"waiting for memory\") until others end; one larger "
          "than the whole budget is refused. 0: the host's memory minus an eighth of it (at least "
          "1 GiB) for clownixd, the switch and the page cache.");
ABSL_FLAG(uint32_t, max_booting_vms, 6,
          "At most this many VMs boot at once, the others queue in order (BOOTING, \"queued to "
          "boot\"); a boot lasts until the VM's startup has finished. Booting is CPU-bound: on a "
          "shared 2-core host 6 at a time booted 10 and 50 VMs fastest in total "
          "(docs/benchmarks/scale.md). 0: no limit.");
ABSL_FLAG(uint32_t, watch_queue_limit, 20000,
          "Events a watcher may fall behind before it is resynced with a FELL_BEHIND snapshot.");
ABSL_FLAG(bool, root_fs, false, "Write straight into the reference root_fs (no COW); one VM only.");

int main(int argc, char** argv) {
  // A crash (SIGSEGV, SIGABRT, ...) writes the signal and the stack to stderr, the log, before
  // clownixd dies: otherwise the log just stops and the clients see "Socket closed". SIGTERM and
  // SIGINT never reach the handler: they are blocked and taken by sigwait below.
  absl::InitializeSymbolizer(argv[0]);
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());
  absl::SetProgramUsageMessage(
      "clownixd: the clownix network emulator's server.\n"
      "  clownixd [--work_dir DIR] [--ip_admin A.B.C.D] [--tokens_file FILE]\n"
      "           [--listen HOST:PORT --tls_cert PEM --tls_key PEM [--client_ca PEM]] ...\n"
      "  clownixd <port> <num_tap> <ip_admin> <work_dir> <bulk_dir> <rsa_public> <rsa_private> "
      "[--root_fs]");
  // --help lists the flags of this file (absl's default looks for a file named after the binary).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles; clownixd's lock order
  // is fixed by design (documented per class), and the check showed in profiles of the hot path.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> positional(args.begin() + 1, args.end());

  clownix::server::ServerOptions flags;
  flags.work_dir = absl::GetFlag(FLAGS_work_dir);
  if (flags.work_dir.empty() && positional.empty()) {
    const char* env = getenv("CLOWNIX_WORK_DIR");
    flags.work_dir = env && *env ? env : "/tmp/clownix";
  }
  flags.socket_group = absl::GetFlag(FLAGS_socket_group);
  flags.listen = absl::GetFlag(FLAGS_listen);
  flags.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  flags.tls_key = absl::GetFlag(FLAGS_tls_key);
  flags.client_ca = absl::GetFlag(FLAGS_client_ca);
  flags.insecure_listen = absl::GetFlag(FLAGS_insecure_listen);
  flags.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  flags.num_tap = absl::GetFlag(FLAGS_num_tap);
  flags.ip_admin = absl::GetFlag(FLAGS_ip_admin);
  flags.bulk_dir = absl::GetFlag(FLAGS_bulk_dir);
  flags.image_dir = absl::GetFlag(FLAGS_image_dir);
  flags.default_image = absl::GetFlag(FLAGS_default_image);
  flags.rsa_public = absl::GetFlag(FLAGS_rsa_public);
  flags.rsa_private = absl::GetFlag(FLAGS_rsa_private);
  flags.root_fs = absl::GetFlag(FLAGS_root_fs);
  flags.backends = absl::GetFlag(FLAGS_backends);
  flags.admin_netns = absl::GetFlag(FLAGS_admin_netns);
  flags.admin_tap = absl::GetFlag(FLAGS_admin_tap);
  flags.admin_default = absl::GetFlag(FLAGS_admin_default);
  flags.vm_uid_base = absl::GetFlag(FLAGS_vm_uid_base);
  flags.vm_address_randomization = absl::GetFlag(FLAGS_vm_address_randomization);
  flags.watch_queue_limit = absl::GetFlag(FLAGS_watch_queue_limit);
  flags.vm_memory_budget_mib = absl::GetFlag(FLAGS_vm_memory_budget_mib);
  flags.max_booting_vms = absl::GetFlag(FLAGS_max_booting_vms);
  absl::StatusOr<clownix::server::ServerOptions> options =
      clownix::server::ResolveServerOptions(flags, positional);
  if (!options.ok()) {
    fprintf(stderr, "clownixd: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  for (const std::string& warning : clownix::server::OptionWarnings(*options)) {
    clownix::server::Log(clownix::server::LogLevel::kWarning, warning);
  }

  // Before the switch starts: it inherits the value (oom_score.h says why not -1000).
  if (absl::Status s = clownix::server::SetOomScoreAdj(clownix::server::kServerOomScoreAdj);
      !s.ok()) {
    clownix::server::Log(clownix::server::LogLevel::kWarning,
                         absl::StrCat("under memory pressure the kernel may kill clownixd or the "
                                      "switch before a VM: ",
                                      s.ToString()));
  }

  // Signals are taken by one thread with sigwait, so shutdown runs in ordinary code.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<clownix::server::ClownixServer>> server =
      clownix::server::ClownixServer::Create(*options);
  if (!server.ok()) {
    fprintf(stderr, "clownixd: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::thread waiter([&signals, s = server->get()] {
    int signal = 0;
    sigwait(&signals, &signal);
    clownix::server::Log(clownix::server::LogLevel::kInfo,
                         signal == SIGTERM ? "SIGTERM: shutting down" : "SIGINT: shutting down");
    s->Shutdown();
  });
  (*server)->Wait();
  waiter.join();
  server->reset();
  clownix::server::Log(clownix::server::LogLevel::kInfo, "stopped");
  return 0;
}
