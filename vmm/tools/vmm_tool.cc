// vmm_tool: drives VmManager from the command line. Used by the benchmark
// (docs/benchmarks/vmm.md) and by the adoption integration test, which needs a "clownixd"
// that can be killed.
//
//   vmm_tool bench WORK ROOTFS XSTATE_SO N [MEM_MIB]
//                                                start N VMs at once (64 MiB each unless
//                                                MEM_MIB), report ready times and memory, kill
//                                                them. BENCH_MAX_BOOTING=K in the environment:
//                                                at most K booting at a time, the next started
//                                                when one is ready (clownixd's boot pacing)
//   vmm_tool hold WORK ROOTFS XSTATE_SO N        start VMs a1..aN, print "running NAME PID"
//                                                for each once ready, then "ready", then wait
//                                                to be killed
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "vmm/vm_manager.h"

namespace {

using clownix::vmm::VmEvent;
using clownix::vmm::VmManager;
using clownix::vmm::VmManagerOptions;
using clownix::vmm::VmState;

// Sums the fields ("Rss:", "Pss:", ...) of /proc/PID/smaps_rollup over the processes of
// `pgid`. UML's helpers are clones sharing the main process's mm and report the very same
// rollup; each distinct rollup is counted once ("rss_sum" below) while "rss_naive" counts every
// process, as a plain per-process sum would.
std::map<std::string, long> GroupMemoryKib(int pgid) {
  std::map<std::string, long> total;
  std::set<std::string> seen;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    if (getpgid(pid) != pgid) continue;
    total["processes"] += 1;
    std::ifstream in(absl::StrCat("/proc/", pid, "/smaps_rollup"));
    std::string line, rollup;
    std::map<std::string, long> fields;
    while (std::getline(in, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      long kib = 0;
      if (f.size() >= 2 && absl::SimpleAtoi(f[1], &kib)) {
        fields[f[0]] = kib;
        absl::StrAppend(&rollup, f[0], kib, ";");
      }
    }
    total["naive_rss"] += fields["Rss:"];
    if (!seen.insert(rollup).second) continue;
    for (auto& [k, v] : fields) total[k] += v;
  }
  return total;
}

long MeminfoKib(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    long kib = 0;
    if (f.size() >= 2 && f[0] == key && absl::SimpleAtoi(f[1], &kib)) return kib;
  }
  return -1;
}

// The VMs' confinement as clownixd's defaults set it (a user each, landlock), unless the
// environment says otherwise, to measure what it costs: VMM_CONFINE=landlock (landlock only) or
// VMM_CONFINE=none.
VmManagerOptions Options(char** argv) {
  VmManagerOptions o;
  o.work_dir = argv[2];
  o.root_fs = argv[3];
  o.xstate_fix_library = argv[4];
  const char* confine = getenv("VMM_CONFINE");
  const std::string mode = confine ? confine : "users";
  o.confinement.vm_uid_base = mode == "users" ? 2100000000 : 0;
  o.confinement.landlock = mode != "none";
  return o;
}

int Bench(int argc, char** argv) {
  int n = 0;
  if (!absl::SimpleAtoi(argv[5], &n) || n < 1) return 2;
  int mem_mib = 64;
  if (argc == 7 && !absl::SimpleAtoi(argv[6], &mem_mib)) return 2;
  int max_booting = 0;
  if (const char* k = getenv("BENCH_MAX_BOOTING"); k && !absl::SimpleAtoi(k, &max_booting)) {
    return 2;
  }
  absl::Mutex mu;
  std::map<std::string, absl::Time> ready;
  std::set<std::string> ended;  // crashed before it was ready
  VmManagerOptions o = Options(argv);
  o.on_state_change = [&](const VmEvent& e) {
    absl::MutexLock l(&mu);
    if (e.state == VmState::kRunning) {
      ready.emplace(e.name, absl::Now());
    } else if ((e.state == VmState::kCrashed || e.state == VmState::kStopped) &&
               !ready.count(e.name)) {
      ended.insert(e.name);
    }
  };
  const long shmem_before = MeminfoKib("Shmem:");
  const long avail_before = MeminfoKib("MemAvailable:");
  auto m = VmManager::Create(o);
  if (!m.ok()) {
    fprintf(stderr, "%s\n", std::string(m.status().message()).c_str());
    return 1;
  }
  VmManager& manager = **m;
  const absl::Time t0 = absl::Now();
  std::map<std::string, absl::Time> started;
  for (int i = 1; i <= n; ++i) {
    std::string name = absl::StrCat("b", i);
    if (max_booting > 0) {
      // Paced: the next boot starts when fewer than K are booting (ready or ended ones are not).
      absl::MutexLock l(&mu);
      auto room = [&] {
        return static_cast<int>(started.size() - ready.size() - ended.size()) < max_booting;
      };
      mu.Await(absl::Condition(&room));
    }
    {
      absl::MutexLock l(&mu);
      started[name] = absl::Now();
    }
    absl::Status s = manager.Start({name, i, mem_mib, {}});
    if (!s.ok()) {
      fprintf(stderr, "start %s: %s\n", name.c_str(), std::string(s.message()).c_str());
      return 1;
    }
  }
  int failed = 0;
  for (int i = 1; i <= n; ++i) {
    if (!manager.WaitForState(absl::StrCat("b", i), VmState::kRunning, absl::Seconds(300)).ok()) {
      ++failed;
    }
  }
  const absl::Duration all = absl::Now() - t0;
  {
    // WaitForState wakes up when the state changes; the callback runs just after, on the
    // manager's thread. Wait for the last callbacks too.
    absl::MutexLock l(&mu);
    auto all_in = [&] { return ready.size() == static_cast<size_t>(n - failed); };
    mu.AwaitWithTimeout(absl::Condition(&all_in), absl::Seconds(10));
  }
  std::vector<double> secs;
  {
    absl::MutexLock l(&mu);
    for (auto& [name, t] : ready) secs.push_back(absl::ToDoubleSeconds(t - started[name]));
  }
  std::sort(secs.begin(), secs.end());
  auto pct = [&](double p) {
    return secs.empty() ? -1.0
                        : secs[std::min(secs.size() - 1, size_t(p * (secs.size() - 1) + 0.5))];
  };
  // Let the guests settle into idle before measuring memory.
  absl::SleepFor(absl::Seconds(5));
  long rss = 0, naive = 0, pss = 0, procs = 0;
  for (const auto& vm : manager.List()) {
    auto mem = GroupMemoryKib(vm.pid);
    rss += mem["Rss:"];
    naive += mem["naive_rss"];
    pss += mem["Pss:"];
    procs += mem["processes"];
  }
  const long shmem_delta = MeminfoKib("Shmem:") - shmem_before;
  const long avail_delta = avail_before - MeminfoKib("MemAvailable:");
  printf(
      "vms=%d ready=%zu failed=%d all_ready_s=%.2f p50_s=%.2f p90_s=%.2f max_s=%.2f "
      "xstate_fix=%d max_booting=%d\n",
      n, secs.size(), failed, absl::ToDoubleSeconds(all), pct(0.5), pct(0.9), pct(1.0),
      manager.uses_xstate_fix(), max_booting);
  printf(
      "per_vm: processes=%.1f rss_naive_mib=%.1f rss_sum_mib=%.1f pss_mib=%.1f "
      "shmem_delta_mib=%.1f memavailable_drop_mib=%.1f\n",
      double(procs) / n, naive / 1024.0 / n, rss / 1024.0 / n, pss / 1024.0 / n,
      shmem_delta / 1024.0 / n, avail_delta / 1024.0 / n);
  for (const auto& vm : manager.List()) {
    if (absl::Status s = manager.Kill(vm.spec.name); !s.ok()) {
      fprintf(stderr, "kill %s: %s\n", vm.spec.name.c_str(), s.ToString().c_str());
      ++failed;
    }
  }
  // Host CPU of everything this process waited for: the VMs' UML main processes (with the guest
  // processes' host processes they reaped) and the config disks' mkfs, from the first Start to
  // the kill, the 5 s idle included (tens of ms per VM). Not UML's two helper processes, which
  // the group kill leaves to init. A boot is CPU-bound: this is what N boots cost the host.
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  const double cpu =
      ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  printf("cpu: children_cpu_s_per_vm=%.2f\n", cpu / n);
  return failed == 0 ? 0 : 1;
}

int Hold(char** argv) {
  int n = 0;
  if (!absl::SimpleAtoi(argv[5], &n) || n < 1) return 2;
  auto m = VmManager::Create(Options(argv));
  if (!m.ok()) {
    fprintf(stderr, "%s\n", std::string(m.status().message()).c_str());
    return 1;
  }
  for (int i = 1; i <= n; ++i) {
    std::string name = absl::StrCat("a", i);
    absl::Status s = (*m)->Start({name, i, 64, {}});
    if (s.ok()) s = (*m)->WaitForState(name, VmState::kRunning, absl::Seconds(120));
    if (!s.ok()) {
      fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 1;
    }
    printf("running %s %d\n", name.c_str(), (*m)->Get(name)->pid);
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
}

}  // namespace

int main(int argc, char** argv) {
  if ((argc == 6 || argc == 7) && std::string(argv[1]) == "bench") return Bench(argc, argv);
  if (argc == 6 && std::string(argv[1]) == "hold") return Hold(argv);
  fprintf(stderr,
          "usage: vmm_tool bench WORK ROOTFS XSTATE_SO N [MEM_MIB]\n"
          "       vmm_tool hold WORK ROOTFS XSTATE_SO N\n");
  return 2;
}
