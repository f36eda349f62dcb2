// guest_bench: the guest images (tiny, debian) measured as labs run them, with real UML VMs
// (vmm::VmManager, confined as clownixd confines them) and a real clownix-switchcore
// (docs/benchmarks/vmm.md, "Images: tiny and debian"; tools/bench_guests.sh runs it all):
//
//   guest_bench --mode=mem   --root_fs=IMG --mem=M [--vms=N]
//       N idle VMs: host memory per VM (PSS, split into guest RAM, linux.uml's file pages and its
//       own anonymous memory), what the guest says it uses (/proc/meminfo) and its processes'
//       RSS; then the same after the guest dropped its page cache (--drop_caches).
//   guest_bench --mode=frr   --root_fs=IMG --mem=M [--vms=3]
//       N FRR routers on one switchcore LAN running OSPF (fast timers): time until every router
//       has a kernel route to every other router's loopback, then the same memory figures.
//   guest_bench --mode=iperf --root_fs=IMG --mem=M [--rounds=3] [--seconds=10]
//       two guests wired twice, eth1 through clownix-switchcore and eth2 through uml_switch;
//       iperf3 TCP a -> b over each in turn (the order alternates every round), with the CPU
//       that the sending VM, the receiving VM and the switch used meanwhile.
//
// Every figure is printed as key=value on one line together with the host's load average, for
// the script to tabulate; a line that starts with '#' is commentary.
#include <fcntl.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "switchcore/ctl/switch_client.h"
#include "vmm/vm_manager.h"

ABSL_FLAG(std::string, mode, "mem", "mem, frr or iperf");
ABSL_FLAG(std::string, work, "/tmp/guest_bench", "work directory (kept: it holds the learnt lpj)");
ABSL_FLAG(std::string, root_fs, "", "the image's rootfs.img");
ABSL_FLAG(std::string, xstate_so, "", "libuml_xstate_fix.so");
ABSL_FLAG(std::string, switchcore, "", "clownix-switchcore (default: beside this binary)");
ABSL_FLAG(std::string, kernel, "/usr/bin/linux.uml", "the UML kernel");
ABSL_FLAG(int, mem, 64, "guest memory, MiB");
ABSL_FLAG(bool, aslr, false,
          "randomize the UML processes' address layout (clownixd's --vm_address_randomization)");
ABSL_FLAG(int, vms, 0, "VMs (default: 1 for mem, 3 for frr; iperf always uses 2)");
ABSL_FLAG(int, settle_s, 10, "seconds of idle before memory is measured");
ABSL_FLAG(bool, drop_caches, true, "mem, frr: measure again after drop_caches in the guest");
ABSL_FLAG(bool, processes, true, "mem, frr: print the guest's processes by RSS");
ABSL_FLAG(std::string, daemons, "ospfd", "frr: the FRR daemons turned on (comma-separated)");
ABSL_FLAG(std::string, setup_cmd, "",
          "frr: a shell command run in every router before FRR starts (e.g. to try another "
          "/etc/frr/daemons)");
ABSL_FLAG(std::string, show_cmd, "",
          "mem, frr: a shell command run in the first VM once memory is measured, its output "
          "printed after '# ' (e.g. dmesg | grep Memory)");
ABSL_FLAG(int, rounds, 3, "iperf: rounds, each measuring both switches");
ABSL_FLAG(int, seconds, 10, "iperf: seconds per iperf3 run");
ABSL_FLAG(std::string, perf_dir, "",
          "iperf: if set, `perf record -a -g` runs during the first round's runs, into "
          "DIR/SWITCH.data");

namespace clownix::switchcore {
namespace {

using vmm::VmManager;
using vmm::VmManagerOptions;
using vmm::VmSpec;
using vmm::VmState;

// The VMs of the run, killed by Die too: a failed run leaves nothing behind.
VmManager* g_manager = nullptr;

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "guest_bench: %s\n", what.c_str());
  if (g_manager != nullptr) {
    for (const auto& vm : g_manager->List()) {
      (void)g_manager->Kill(vm.spec.name);  // exiting with an error already
    }
  }
  exit(1);
}

std::string Load() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one;
}

// Fields of smaps_rollup ("Pss:", "Pss_Shmem:", ...) summed over the processes of `pgid`, each
// address space counted once: UML's two helpers are clones of the main process that share its mm
// (kcmp KCMP_VM says which). Comparing their rollups, as vmm_tool's GroupMemoryKib does, is not
// enough for a busy guest: the mm changes between two reads and is then counted twice. Each guest
// process is a host process of its own with its own mm; the guest RAM it maps is shared with the
// main process, and PSS splits it between them, so the sum over the group counts every page once.
std::map<std::string, long> GroupMemoryKib(int pgid) {
  std::map<std::string, long> total;
  std::vector<int> counted;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    if (getpgid(pid) != pgid) continue;
    bool shared = false;
    for (int other : counted) {
      if (syscall(SYS_kcmp, pid, other, KCMP_VM, 0, 0) == 0) shared = true;
    }
    if (shared) continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/smaps_rollup"));
    std::string line;
    std::map<std::string, long> fields;
    while (std::getline(in, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      long kib = 0;
      if (f.size() >= 2 && absl::SimpleAtoi(f[1], &kib)) fields[f[0]] = kib;
    }
    if (fields.empty()) continue;  // gone meanwhile
    counted.push_back(pid);
    total["processes"] += 1;
    for (auto& [k, v] : fields) total[k] += v;
  }
  return total;
}

// User+system CPU of the processes of process group `pgid` (or of process `pgid` alone, with
// `whole_group` false), in clock ticks, including the children they reaped (a guest process is a
// host process that ends with it).
long CpuTicks(int pgid, bool whole_group = true) {
  long ticks = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    if (whole_group ? getpgid(pid) != pgid : pid != pgid) continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::vector<std::string> f = absl::StrSplit(stat.substr(paren + 2), ' ');
    // After the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14).
    for (int i : {11, 12, 13, 14}) {
      long v = 0;
      if (static_cast<int>(f.size()) > i && absl::SimpleAtoi(f[i], &v)) ticks += v;
    }
  }
  return ticks;
}

// Busy and total ticks of the whole host (/proc/stat's cpu line).
std::pair<long, long> HostTicks() {
  std::ifstream in("/proc/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
  long total = 0, idle = 0;
  for (size_t i = 1; i < f.size(); ++i) {
    long v = 0;
    if (!absl::SimpleAtoi(f[i], &v)) continue;
    total += v;
    if (i == 4 || i == 5) idle += v;  // idle, iowait
  }
  return {total - idle, total};
}

struct Stats {
  double min = 0, median = 0, max = 0;
};
Stats Summarize(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  return {v.front(), v[v.size() / 2], v.back()};
}
class Bench {
 public:
  Bench() {
    VmManagerOptions o;
    o.work_dir = absl::GetFlag(FLAGS_work) + "/vmm";
    o.kernel = absl::GetFlag(FLAGS_kernel);
    o.root_fs = absl::GetFlag(FLAGS_root_fs);
    o.xstate_fix_library = absl::GetFlag(FLAGS_xstate_so);
    // As clownixd's defaults (and vmm_tool bench): a user each, landlock.
    o.confinement.vm_uid_base = kVmUidBase;
    o.confinement.landlock = true;
    o.confinement.address_randomization = absl::GetFlag(FLAGS_aslr);
    auto m = VmManager::Create(o);
    if (!m.ok()) Die(m.status().ToString());
    manager_ = *std::move(m);
    g_manager = manager_.get();
  }
  ~Bench() {
    g_manager = nullptr;
    for (const auto& vm : manager_->List()) {
      if (absl::Status s = manager_->Kill(vm.spec.name); !s.ok()) {
        fprintf(stderr, "kill %s: %s\n", vm.spec.name.c_str(), s.ToString().c_str());
      }
    }
  }

  static constexpr uint32_t kVmUidBase = 2100000000;

  // Starts the VMs at once and waits until all are ready.
  void Start(const std::vector<VmSpec>& specs) {
    for (const VmSpec& spec : specs) {
      if (absl::Status s = manager_->Start(spec); !s.ok()) {
        Die(absl::StrCat("start ", spec.name, ": ", s.ToString()));
      }
    }
    for (const VmSpec& spec : specs) {
      absl::Status s = manager_->WaitForState(spec.name, VmState::kRunning, absl::Seconds(300));
      if (!s.ok()) Die(absl::StrCat(spec.name, " not ready: ", s.ToString()));
    }
  }

  // Runs `command` in the guest; dies unless it exits 0.
  std::string Must(const std::string& vm, const std::string& command,
                   absl::Duration timeout = absl::Seconds(60)) {
    auto r = manager_->Exec(vm, command, timeout, 1 << 20);
    if (!r.ok()) Die(absl::StrCat(vm, ": `", command, "`: ", r.status().ToString()));
    if (r->exit_code != 0) {
      Die(absl::StrCat(vm, ": `", command, "` exited ", r->exit_code, ": ", r->output));
    }
    return r->output;
  }
  bool Try(const std::string& vm, const std::string& command, std::string* output = nullptr,
           absl::Duration timeout = absl::Seconds(30)) {
    auto r = manager_->Exec(vm, command, timeout, 1 << 20);
    if (output != nullptr && r.ok()) *output = r->output;
    return r.ok() && r->exit_code == 0;
  }

  int Pid(const std::string& vm) {
    auto info = manager_->Get(vm);
    if (!info.ok()) Die(info.status().ToString());
    return info->pid;
  }

  // One line of memory figures per VM (MiB), with what the guest says of itself; returns the
  // VMs' PSS.
  std::vector<double> Memory(const std::vector<std::string>& vms, const std::string& phase) {
    std::vector<double> pss;
    for (const std::string& vm : vms) {
      auto mem = GroupMemoryKib(Pid(vm));
      pss.push_back(mem["Pss:"] / 1024.0);
      std::map<std::string, long> guest;
      std::string meminfo;
      if (Try(vm, "cat /proc/meminfo", &meminfo)) {
        for (absl::string_view line : absl::StrSplit(meminfo, '\n')) {
          std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
          long kib = 0;
          if (f.size() >= 2 && absl::SimpleAtoi(f[1], &kib)) guest[f[0]] = kib;
        }
      }
      const long used = guest["MemTotal:"] - guest["MemFree:"];
      printf(
          "mem phase=%s vm=%s load=%s pss_mib=%.1f pss_guest_ram_mib=%.1f pss_file_mib=%.1f "
          "pss_anon_mib=%.1f rss_mib=%.1f address_spaces=%ld guest_total_mib=%.1f "
          "guest_used_mib=%.1f guest_cached_mib=%.1f guest_anon_mib=%.1f guest_slab_mib=%.1f "
          "guest_slab_reclaimable_mib=%.1f "
          "guest_shmem_mib=%.1f guest_pagetables_mib=%.1f guest_kernelstack_mib=%.1f\n",
          phase.c_str(), vm.c_str(), Load().c_str(), mem["Pss:"] / 1024.0,
          mem["Pss_Shmem:"] / 1024.0, mem["Pss_File:"] / 1024.0, mem["Pss_Anon:"] / 1024.0,
          mem["Rss:"] / 1024.0, mem["processes"], guest["MemTotal:"] / 1024.0, used / 1024.0,
          (guest["Cached:"] + guest["Buffers:"]) / 1024.0, guest["AnonPages:"] / 1024.0,
          guest["Slab:"] / 1024.0, guest["SReclaimable:"] / 1024.0, guest["Shmem:"] / 1024.0,
          guest["PageTables:"] / 1024.0, guest["KernelStack:"] / 1024.0);
    }
    Stats s = Summarize(pss);
    printf(
        "summary phase=%s vms=%zu load=%s pss_min_mib=%.1f pss_median_mib=%.1f pss_max_mib=%.1f\n",
        phase.c_str(), vms.size(), Load().c_str(), s.min, s.median, s.max);
    fflush(stdout);
    return pss;
  }

  // The guest's processes by resident memory (one awk over /proc: no exec per process).
  void Processes(const std::string& vm) {
    std::string out;
    if (!Try(vm,
             "awk '/^Name:/{n=$2} /^VmRSS:/{r[n]+=$2; c[n]++} END{for (n in r) print r[n], c[n], "
             "n}' /proc/[0-9]*/status | sort -rn",
             &out)) {
      return;
    }
    std::vector<std::string> parts;
    for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() != 3) continue;
      long kib = 0;
      if (!absl::SimpleAtoi(f[0], &kib)) continue;
      parts.push_back(
          absl::StrFormat("%s%s:%.1f", f[2], f[1] == "1" ? "" : "(x" + f[1] + ")", kib / 1024.0));
    }
    printf("processes vm=%s rss_mib %s\n", vm.c_str(), absl::StrJoin(parts, " ").c_str());
  }

  void Show(const std::string& vm) {
    if (absl::GetFlag(FLAGS_show_cmd).empty()) return;
    std::string out;
    (void)Try(vm, absl::GetFlag(FLAGS_show_cmd), &out);  // its output says what went wrong
    for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
      printf("# %s: %s\n", vm.c_str(), std::string(line).c_str());
    }
  }

  void DropCachesAndMeasure(const std::vector<std::string>& vms) {
    for (const std::string& vm : vms) Must(vm, "sync; echo 3 >/proc/sys/vm/drop_caches");
    absl::SleepFor(absl::Seconds(2));  // A tool measuring idle memory: let the guests settle.
    Memory(vms, "after_drop_caches");
  }

  VmManager& manager() { return *manager_; }

 private:
  std::unique_ptr<VmManager> manager_;
};

std::vector<std::string> Names(const std::string& prefix, int n) {
  std::vector<std::string> names;
  for (int i = 1; i <= n; ++i) names.push_back(absl::StrCat(prefix, i));
  return names;
}

std::unique_ptr<SwitchClient> StartSwitchcore(const std::string& path) {
  SwitchClient::Options options;
  options.switchcore_path = path;
  options.work_dir = absl::GetFlag(FLAGS_work) + "/switchcore";
  std::filesystem::create_directories(options.work_dir);
  options.vm_uids = UidRange{Bench::kVmUidBase + 1, Bench::kVmUidBase + 9999};
  auto client = SwitchClient::Create(options);
  if (!client.ok()) Die(client.status().ToString());
  return *std::move(client);
}

int Mem() {
  const int n = absl::GetFlag(FLAGS_vms) > 0 ? absl::GetFlag(FLAGS_vms) : 1;
  Bench bench;
  std::vector<VmSpec> specs;
  for (int i = 1; i <= n; ++i) specs.push_back({absl::StrCat("m", i), i, absl::GetFlag(FLAGS_mem)});
  printf("# mem: %d VM(s), mem=%dM, %s, load at start %s\n", n, absl::GetFlag(FLAGS_mem),
         absl::GetFlag(FLAGS_root_fs).c_str(), Load().c_str());
  bench.Start(specs);
  std::vector<std::string> vms = Names("m", n);
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_settle_s)));  // idle, as the figure says
  bench.Memory(vms, "idle");
  if (absl::GetFlag(FLAGS_processes)) bench.Processes(vms[0]);
  bench.Show(vms[0]);
  if (absl::GetFlag(FLAGS_drop_caches)) bench.DropCachesAndMeasure(vms);
  return 0;
}

// Fast OSPF timers (docs/debian-guest-facts.md): FRR's defaults take ~50 s to a route. The dead
// interval is 10 s, not 3: guests starved of CPU on a busy host miss hellos and flap.
std::string FrrConfig(const std::string& name, int i) {
  return absl::StrFormat(
      "frr defaults traditional\nhostname %s\nlog file /var/log/frr/frr.log\n!\n"
      "interface eth1\n ip ospf hello-interval 1\n ip ospf dead-interval 10\n"
      " ip ospf retransmit-interval 1\n!\n"
      "router ospf\n ospf router-id 10.99.0.%d\n timers throttle spf 0 50 500\n"
      " timers throttle lsa all 0\n timers lsa min-arrival 0\n"
      " network 10.9.0.0/24 area 0\n network 10.99.0.0/16 area 0\n",
      name, i);
}

int Frr(const std::string& switchcore) {
  const int n = absl::GetFlag(FLAGS_vms) > 0 ? absl::GetFlag(FLAGS_vms) : 3;
  auto client = StartSwitchcore(switchcore);
  if (absl::Status s = client->CreateLan("ospf"); !s.ok()) Die(s.ToString());
  Bench bench;
  std::vector<VmSpec> specs;
  for (int i = 1; i <= n; ++i) {
    specs.push_back(
        {absl::StrCat("r", i), i, absl::GetFlag(FLAGS_mem), {{1, client->ControlPath("ospf")}}});
  }
  printf("# frr: %d routers on one LAN, daemons %s, mem=%dM, %s, load at start %s\n", n,
         absl::GetFlag(FLAGS_daemons).c_str(), absl::GetFlag(FLAGS_mem),
         absl::GetFlag(FLAGS_root_fs).c_str(), Load().c_str());
  bench.Start(specs);
  std::vector<std::string> vms = Names("r", n);
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_settle_s)));  // idle, as the figure says
  bench.Memory(vms, "idle_before_frr");
  const absl::Time t0 = absl::Now();
  for (int i = 1; i <= n; ++i) {
    const std::string vm = vms[i - 1];
    std::string cmd = absl::StrFormat(
        "ip addr add 10.9.0.%d/24 dev eth1 && ip link set eth1 up && "
        "ip addr add 10.99.0.%d/32 dev lo",
        i, i);
    for (absl::string_view d : absl::StrSplit(absl::GetFlag(FLAGS_daemons), ',')) {
      absl::StrAppend(&cmd, " && sed -i 's/^", d, "=no/", d, "=yes/' /etc/frr/daemons");
    }
    if (!absl::GetFlag(FLAGS_setup_cmd).empty()) {
      absl::StrAppend(&cmd, " && ", absl::GetFlag(FLAGS_setup_cmd));
    }
    absl::StrAppend(&cmd, " && cat >/etc/frr/frr.conf <<'EOF'\n", FrrConfig(vm, i), "EOF\n");
    bench.Must(vm, cmd);
  }
  // Started in a row, each call returns when its FRR runs (1.6-2.6 s each).
  for (const std::string& vm : vms) bench.Must(vm, "systemctl start frr >/dev/null");
  const absl::Duration started = absl::Now() - t0;
  // Converged: every router has a kernel route (from zebra) to every other loopback. Asked with
  // ip, not vtysh: vtysh is an 8 MiB process, and guest RAM once touched stays with the host.
  const absl::Time deadline = absl::Now() + absl::Seconds(180);
  std::set<std::string> done;
  while (done.size() < vms.size() && absl::Now() < deadline) {
    for (const std::string& vm : vms) {
      if (done.count(vm)) continue;
      std::string out;
      if (bench.Try(vm, "ip -4 route show proto ospf | grep -c '^10\\.99\\.'", &out)) {
        int routes = 0;
        if (absl::SimpleAtoi(absl::StripAsciiWhitespace(out), &routes) && routes >= n - 1) {
          done.insert(vm);
        }
      }
    }
    absl::SleepFor(absl::Milliseconds(200));  // polling the guests' routing tables
  }
  // Not converged is a result too (a router too small for FRR): its memory is measured all the
  // same.
  printf("frr routers=%d load=%s frr_started_s=%.1f converged_s=%.1f converged=%s\n", n,
         Load().c_str(), absl::ToDoubleSeconds(started), absl::ToDoubleSeconds(absl::Now() - t0),
         done.size() == vms.size() ? "yes" : "no");
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_settle_s)));  // a converged, idle router
  bench.Memory(vms, "ospf_converged");
  if (absl::GetFlag(FLAGS_processes)) bench.Processes(vms[0]);
  bench.Show(vms[0]);
  if (absl::GetFlag(FLAGS_drop_caches)) bench.DropCachesAndMeasure(vms);
  return 0;
}

// uml_switch as Debian ships it, its control socket open to the VMs' users (as switchcore's is).
class UmlSwitch {
 public:
  explicit UmlSwitch(const std::string& dir) : ctl_(dir + "/ctl") {
    std::filesystem::create_directories(dir);
    chmod(dir.c_str(), 0711);
    unlink(ctl_.c_str());
    common::SpawnOptions o;
    o.argv = {"uml_switch", "-unix", ctl_};
    // uml_switch quits when its standard input ends: a pipe held open for as long as we run.
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) Die("pipe");
    stdin_ = p[1];
    o.fds.push_back({p[0], 0});
    o.output = common::SpawnOptions::Output::kDiscard;
    o.new_process_group = true;
    auto child = common::Spawn(o);
    close(p[0]);
    if (!child.ok()) Die(child.status().ToString());
    pid_ = child->pid;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    struct stat st;
    while (stat(ctl_.c_str(), &st) != 0) {
      if (absl::Now() > deadline) Die("uml_switch: no control socket");
      absl::SleepFor(absl::Milliseconds(10));  // waiting for another process to start
    }
    chmod(ctl_.c_str(), 0666);
  }
  ~UmlSwitch() {
    kill(pid_, SIGTERM);
    close(stdin_);
    // The switch's exit status says nothing about the measurement.
    (void)common::WaitForChild(pid_);
  }
  const std::string& ctl() const { return ctl_; }
  int pid() const { return pid_; }

 private:
  std::string ctl_;
  int pid_ = 0;
  int stdin_ = -1;
};

struct IperfRun {
  double mbit_s = 0;
  long retransmits = 0;
  double cpu_sender = 0, cpu_receiver = 0, cpu_switch = 0, host_busy = 0;  // % of one core
};

// iperf3's receiver line: "[  5]   0.00-10.00  sec   496 MBytes   416 Mbits/sec   receiver";
// the sender's has the retransmits after the rate.
IperfRun ParseIperf(const std::string& out) {
  IperfRun r;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 8) continue;
    if (f.back() == "receiver" && f[f.size() - 2] == "Mbits/sec") {
      (void)absl::SimpleAtod(f[f.size() - 3], &r.mbit_s);  // 0 stays if not a number
    }
    if (f.back() == "sender" && f[f.size() - 3] == "Mbits/sec") {
      (void)absl::SimpleAtoi(f[f.size() - 2], &r.retransmits);  // 0 stays if not a number
    }
  }
  return r;
}

void Perf(const std::string& out, int seconds, pid_t* pid) {
  common::SpawnOptions o;
  o.argv = {"perf", "record", "-q", "-a", "-g",    "-F",
            "499",  "-o",     out,  "--", "sleep", absl::StrCat(seconds)};
  o.output = common::SpawnOptions::Output::kDiscard;
  auto child = common::Spawn(o);
  *pid = child.ok() ? child->pid : 0;
  if (!child.ok()) fprintf(stderr, "# perf: %s\n", child.status().ToString().c_str());
}

int Iperf(const std::string& switchcore) {
  auto client = StartSwitchcore(switchcore);
  if (absl::Status s = client->CreateLan("perf"); !s.ok()) Die(s.ToString());
  UmlSwitch uml(absl::GetFlag(FLAGS_work) + "/uml_switch");
  Bench bench;
  const int mem = absl::GetFlag(FLAGS_mem);
  const std::string core_ctl = client->ControlPath("perf");
  printf(
      "# iperf: a -> b, eth1 through clownix-switchcore, eth2 through uml_switch, mem=%dM, %s, "
      "load at start %s\n",
      mem, absl::GetFlag(FLAGS_root_fs).c_str(), Load().c_str());
  bench.Start({{"a", 1, mem, {{1, core_ctl}, {2, uml.ctl()}}},
               {"b", 2, mem, {{1, core_ctl}, {2, uml.ctl()}}}});
  for (int i : {1, 2}) {
    bench.Must(i == 1 ? "a" : "b",
               absl::StrFormat("ip addr add 10.1.0.%d/24 dev eth1 && ip link set eth1 up && "
                               "ip addr add 10.2.0.%d/24 dev eth2 && ip link set eth2 up",
                               i, i));
  }
  bench.Must("b", "iperf3 -s -D >/dev/null 2>&1");
  for (const char* ip : {"10.1.0.2", "10.2.0.2"}) {
    bool ok = false;
    for (int i = 0; i < 10 && !ok; ++i) ok = bench.Try("a", absl::StrCat("ping -c 1 -W 2 ", ip));
    if (!ok) Die(absl::StrCat("a cannot ping ", ip));
  }
  const int seconds = absl::GetFlag(FLAGS_seconds);
  const long hz = sysconf(_SC_CLK_TCK);
  struct Target {
    std::string name, ip;
    int switch_pid;
  };
  const std::vector<Target> targets = {{"switchcore", "10.1.0.2", client->pid()},
                                       {"uml_switch", "10.2.0.2", uml.pid()}};
  std::map<std::string, std::vector<IperfRun>> runs;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    for (int k = 0; k < 2; ++k) {
      const Target& t = targets[(k + round) % 2];  // alternating which goes first
      const std::string load = Load();
      pid_t perf = 0;
      if (round == 0 && !absl::GetFlag(FLAGS_perf_dir).empty()) {
        Perf(absl::StrCat(absl::GetFlag(FLAGS_perf_dir), "/", t.name, ".data"), seconds, &perf);
      }
      const long a0 = CpuTicks(bench.Pid("a")), b0 = CpuTicks(bench.Pid("b"));
      const long s0 = CpuTicks(t.switch_pid, false);
      const auto h0 = HostTicks();
      const absl::Time w0 = absl::Now();
      std::string out = bench.Must("a", absl::StrFormat("iperf3 -c %s -t %d -f m", t.ip, seconds),
                                   absl::Seconds(seconds + 30));
      const double wall = absl::ToDoubleSeconds(absl::Now() - w0);
      const auto h1 = HostTicks();
      IperfRun r = ParseIperf(out);
      r.cpu_sender = 100.0 * (CpuTicks(bench.Pid("a")) - a0) / hz / wall;
      r.cpu_receiver = 100.0 * (CpuTicks(bench.Pid("b")) - b0) / hz / wall;
      r.cpu_switch = 100.0 * (CpuTicks(t.switch_pid, false) - s0) / hz / wall;
      r.host_busy = 100.0 * (h1.first - h0.first) / std::max(1L, h1.second - h0.second) *
                    sysconf(_SC_NPROCESSORS_ONLN);
      if (perf > 0) (void)common::WaitForChild(perf);  // perf's status: its file says it all
      printf(
          "iperf round=%d switch=%s load=%s mbit_s=%.0f retransmits=%ld cpu_sender_pct=%.0f "
          "cpu_receiver_pct=%.0f cpu_switch_pct=%.0f host_busy_pct=%.0f\n",
          round + 1, t.name.c_str(), load.c_str(), r.mbit_s, r.retransmits, r.cpu_sender,
          r.cpu_receiver, r.cpu_switch, r.host_busy);
      fflush(stdout);
      runs[t.name].push_back(r);
    }
  }
  std::map<std::string, Stats> mbit;
  for (auto& [name, v] : runs) {
    std::vector<double> m;
    for (const IperfRun& r : v) m.push_back(r.mbit_s);
    mbit[name] = Summarize(m);
    printf("summary switch=%s mbit_s_min=%.0f mbit_s_median=%.0f mbit_s_max=%.0f\n", name.c_str(),
           mbit[name].min, mbit[name].median, mbit[name].max);
  }
  std::vector<double> ratios;
  for (size_t i = 0; i < runs["switchcore"].size(); ++i) {
    const double u = runs["uml_switch"][i].mbit_s;
    if (u > 0) ratios.push_back(runs["switchcore"][i].mbit_s / u);
  }
  Stats r = Summarize(ratios);
  printf("summary ratio_switchcore_over_uml_switch min=%.2f median=%.2f max=%.2f load=%s\n", r.min,
         r.median, r.max, Load().c_str());
  return 0;
}

std::string DefaultSwitchcore(const char* argv0) {
  std::string self = argv0;
  std::string dir = self.substr(0, self.rfind('/') + 1);
  return dir + "../clownix-switchcore";
}

}  // namespace
}  // namespace clownix::switchcore

int main(int argc, char** argv) {
  using namespace clownix::switchcore;
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (absl::GetFlag(FLAGS_root_fs).empty()) Die("--root_fs is required");
  std::string switchcore = absl::GetFlag(FLAGS_switchcore);
  if (switchcore.empty()) switchcore = DefaultSwitchcore(argv[0]);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "mem") return Mem();
  if (mode == "frr") return Frr(switchcore);
  if (mode == "iperf") return Iperf(switchcore);
  Die("--mode is mem, frr or iperf");
}
