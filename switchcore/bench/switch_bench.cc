// switch_bench: measures frames/s, CPU per frame and ping-pong latency through UML daemon-protocol
// switches, with endpoints that behave like UML VMs (a bound abstract datagram socket, one sendto
// per frame):
//   direct       endpoint -> endpoint, no switch (the baseline)
//   clownix      clownix-switchcore, started through SwitchClient
//   clownix_b    another build of it, or the same with other flags (--switchcore_b, --flags_b)
//   uml_switch   uml-utilities' uml_switch -unix PATH
//   vde_switch   vde2's vde_switch -s DIR (daemon-protocol clients on DIR/ctl)
// Throughput is closed loop: a sender keeps at most --window frames in flight (sent, not yet
// received); a frame not received within --loss_timeout_us is counted lost. "offered" is what the
// sender sent, "delivered" what arrived, both per second over --duration_s.
//
// Every run starts a fresh switch (and its endpoints) and ends it. A round is one run of every
// target for every size and direction, the targets' order rotated each round; ratios compare a
// run with uml_switch's run of the same round (seconds apart, under the same load). Per run, from
// the switch process (single-threaded, all three switches): CPU per delivered frame (schedstat:
// time on a CPU), wake-ups (voluntary context switches: each time it blocked in epoll_wait/poll
// and was woken), frames per wake-up, how long it waited for a CPU once woken, and the host's idle
// share and load average. Every run is printed, then min/median/max over the rounds.
//
// --burners=N starts N CPU burners (busy loops, one process each, pinned to the last N CPUs) for
// the whole benchmark and ends them (by pid) at the end: the loaded case in one command.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "switchcore/bench/traffic.h"
#include "switchcore/ctl/switch_client.h"
#include "switchcore/testing/daemon_endpoint.h"

ABSL_FLAG(std::string, switchcore, "", "path of clownix-switchcore (default: beside this binary)");
ABSL_FLAG(std::string, switchcore_b, "",
          "target clownix_b: another clownix-switchcore to compare with (default: --switchcore)");
ABSL_FLAG(std::string, flags_b, "", "target clownix_b: flags added to its command line (a,b)");
ABSL_FLAG(std::string, targets, "direct,clownix,uml_switch,vde_switch", "what to measure");
ABSL_FLAG(std::string, sizes, "64,1514", "frame sizes in bytes");
ABSL_FLAG(std::string, directions, "one,both", "one (A->B), both (A->B and B->A at once)");
ABSL_FLAG(double, duration_s, 2.0, "seconds per throughput run");
ABSL_FLAG(int, window, 8, "frames in flight per direction");
// 50 ms, not less: a shorter stall is a scheduling delay on a loaded host, and counting it as loss
// re-opens the window, overfills a receiver's 10-frame queue and makes uml_switch (which drops
// when a receiver is full) lose frames it would not lose in a closed loop (at 2 ms, 64 B both ways
// under load: uml_switch 31 k frames/s with 0.6 % loss, against 58 k and none at 50 ms).
ABSL_FLAG(int, loss_timeout_us, 50000, "a window stalled this long counts its frames as lost");
ABSL_FLAG(int, pings, 20000, "ping-pong round trips for the latency figures (0: none)");
ABSL_FLAG(int, rounds, 5, "measure every target this many times, interleaved");
ABSL_FLAG(int, burners, 0, "CPU burners (busy processes pinned to the last CPUs) during the runs");
ABSL_FLAG(bool, print_runs, true, "print every run as it ends");

namespace clownix::switchcore {
namespace {

std::vector<pid_t> g_burners;

void StopBurners() {
  for (pid_t pid : g_burners) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  g_burners.clear();
}

void Die(const std::string& what) {
  fprintf(stderr, "switch_bench: %s\n", what.c_str());
  StopBurners();
  exit(1);
}

void StartBurners(int n) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid < 0) Die("fork");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(static_cast<int>((cpus - 1 - i % cpus + cpus) % cpus), &set);
      sched_setaffinity(0, sizeof(set), &set);
      volatile uint64_t spin = 0;
      for (;;) spin = spin + 1;
    }
    g_burners.push_back(pid);
  }
}

struct Target {
  std::string name;
  pid_t pid = 0;  // the switch process (0: direct)
  std::unique_ptr<DaemonEndpoint> a, b;
  std::unique_ptr<SwitchClient> client;
  pid_t child = 0;
  int stdin_pipe = -1;
  std::string dir;

  ~Target() {
    a.reset();
    b.reset();
    client.reset();
    if (child > 0) {
      kill(child, SIGTERM);
      waitpid(child, nullptr, 0);
    }
    if (stdin_pipe >= 0) close(stdin_pipe);
    if (!dir.empty()) {
      std::string cmd = absl::StrCat("rm -rf '", dir, "'");
      if (system(cmd.c_str()) != 0) fprintf(stderr, "could not remove %s\n", dir.c_str());
    }
  }
};

// Starts `argv` with a stdin pipe held open (both reference switches exit on EOF on stdin); its
// stdout and stderr go to /dev/null (uml_switch prints a line per frame it could not send).
void SpawnSwitch(Target& t, std::vector<std::string> args) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) Die("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[0], 0);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(p[0]);
  t.stdin_pipe = p[1];
  t.child = pid;
  t.pid = pid;
}

void WaitForSocket(const std::string& path) {
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  struct stat st;
  while (stat(path.c_str(), &st) != 0) {
    if (absl::Now() > deadline) Die(absl::StrCat(path, " never appeared"));
    absl::SleepFor(absl::Milliseconds(10));  // a tool waiting for another process to start
  }
}

std::unique_ptr<Target> Setup(const std::string& name, const std::string& switchcore) {
  auto t = std::make_unique<Target>();
  t->name = name;
  std::string tmpl = "/tmp/switch-bench-XXXXXX";
  t->dir = mkdtemp(tmpl.data());
  std::string tag = absl::StrCat(t->dir.substr(t->dir.rfind('/') + 1), "-", name);
  std::string ctl;
  if (name == "direct") {
    auto a = DaemonEndpoint::Unconnected(tag + "-a");
    auto b = DaemonEndpoint::Unconnected(tag + "-b");
    if (!a.ok() || !b.ok()) Die("endpoints");
    t->a = *std::move(a);
    t->b = *std::move(b);
    t->a->SetPeer(t->b->address());
    t->b->SetPeer(t->a->address());
    return t;
  }
  if (name == "clownix" || name == "clownix_b") {
    SwitchClient::Options options;
    options.switchcore_path = switchcore;
    if (name == "clownix_b") {
      if (!absl::GetFlag(FLAGS_switchcore_b).empty()) {
        options.switchcore_path = absl::GetFlag(FLAGS_switchcore_b);
      }
      for (absl::string_view f :
           absl::StrSplit(absl::GetFlag(FLAGS_flags_b), ',', absl::SkipEmpty())) {
        options.extra_flags.emplace_back(f);
      }
    }
    options.work_dir = t->dir;
    auto client = SwitchClient::Create(options);
    if (!client.ok()) Die(client.status().ToString());
    t->client = *std::move(client);
    if (absl::Status s = t->client->CreateLan("bench"); !s.ok()) Die(s.ToString());
    ctl = t->client->ControlPath("bench");
    t->pid = t->client->pid();
  } else if (name == "uml_switch") {
    ctl = t->dir + "/ctl";
    SpawnSwitch(*t, {"uml_switch", "-unix", ctl});
    WaitForSocket(ctl);
  } else if (name == "vde_switch") {
    ctl = t->dir + "/vde/ctl";
    SpawnSwitch(*t, {"vde_switch", "-s", t->dir + "/vde"});
    WaitForSocket(ctl);
  } else {
    Die(absl::StrCat("unknown target ", name));
  }
  auto a = DaemonEndpoint::Connect(ctl, tag + "-a");
  auto b = DaemonEndpoint::Connect(ctl, tag + "-b");
  if (!a.ok() || !b.ok()) Die(absl::StrCat(name, ": handshake failed"));
  t->a = *std::move(a);
  t->b = *std::move(b);
  // Teach the switch both MACs, then drain.
  const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  auto fa = MakeFrame(bc, kMacA, 64), fb = MakeFrame(bc, kMacB, 64);
  uint8_t buf[2048];
  for (int i = 0; i < 3; ++i) {
    (void)t->a->Send(fa.data(), fa.size());  // best effort: three tries, then a drain
    (void)t->b->Send(fb.data(), fb.size());
    absl::SleepFor(absl::Milliseconds(20));
  }
  while (t->a->Receive(buf, sizeof(buf), absl::Milliseconds(50)).ok()) {
  }
  while (t->b->Receive(buf, sizeof(buf), absl::Milliseconds(50)).ok()) {
  }
  return t;
}

// Frames clownix-switchcore dropped, all ports, by cause (its counters); empty for other switches.
std::vector<int64_t> SwitchDrops(const Target& t) {
  if (t.client == nullptr) return {};
  std::vector<int64_t> drops(ctl::kDropCauseCount, 0);
  for (const SwitchClient::PortInfo& port : t.client->Ports()) {
    absl::StatusOr<SwitchClient::Counters> c = t.client->ReadCounters(port.port_id);
    if (!c.ok()) continue;  // a port without a counters slot: nothing to add
    for (int i = 0; i < ctl::kDropCauseCount; ++i) drops[i] += static_cast<int64_t>(c->drops[i]);
  }
  return drops;
}

// "0", or the total and each cause ("12 (queue full 12)"); "-" for other switches.
std::string DropsText(const std::vector<int64_t>& drops) {
  if (drops.empty()) return "-";
  static const char* const kNames[] = {"too short", "too long",    "bad source",   "queue full",
                                       "peer gone", "impair loss", "impair queue", "tap error"};
  int64_t total = 0;
  std::string causes;
  for (size_t i = 0; i < drops.size(); ++i) {
    total += drops[i];
    if (drops[i] != 0)
      absl::StrAppend(&causes, causes.empty() ? "" : ", ", kNames[i], " ", drops[i]);
  }
  return total == 0 ? "0" : absl::StrCat(total, " (", causes, ")");
}

struct Run {
  std::vector<int64_t> switch_drops;  // by cause, clownix only
  double offered = 0, delivered = 0, loss_pct = 0;
  double cpu_us_per_frame = 0;  // the switch's time on a CPU per delivered frame
  double frames_per_wake = 0;   // delivered frames per voluntary context switch of the switch
  double wait_us_per_wake = 0;  // run-queue wait per time the switch was put on a CPU
  double involuntary_per_s = 0;
  double idle_pct = 0;  // the host's idle share during the run
  std::string load;     // 1-minute load average at the start
};

Run RunThroughput(Target& t, size_t size, bool both_ways) {
  double duration = absl::GetFlag(FLAGS_duration_s);
  Flow ab(t.a.get(), t.b.get(), kMacB, kMacA, size);
  Flow ba(t.b.get(), t.a.get(), kMacA, kMacB, size);
  Run r;
  r.load = LoadAverage().substr(0, LoadAverage().find(' '));
  SchedSample s0 = Sched(t.pid);
  HostCpu h0 = HostCpuNow();
  std::vector<int64_t> drops0 = SwitchDrops(t);
  int64_t deadline = NowNs() + static_cast<int64_t>(duration * 1e9);
  int64_t loss_timeout = absl::GetFlag(FLAGS_loss_timeout_us) * 1000ll;
  ab.Start(deadline, absl::GetFlag(FLAGS_window), loss_timeout);
  if (both_ways) ba.Start(deadline, absl::GetFlag(FLAGS_window), loss_timeout);
  ab.Join();
  if (both_ways) ba.Join();
  SchedSample s1 = Sched(t.pid);
  r.switch_drops = SwitchDrops(t);
  for (size_t i = 0; i < drops0.size(); ++i) r.switch_drops[i] -= drops0[i];
  r.idle_pct = IdlePercent(h0, HostCpuNow());
  uint64_t sent = ab.sent() + (both_ways ? ba.sent() : 0);
  uint64_t got = ab.delivered() + (both_ways ? ba.delivered() : 0);
  r.offered = sent / duration;
  r.delivered = got / duration;
  r.loss_pct = sent ? 100.0 * (sent > got ? sent - got : 0) / sent : 0;
  if (t.pid > 0 && got > 0) {
    r.cpu_us_per_frame = (s1.cpu_s - s0.cpu_s) * 1e6 / got;
    uint64_t wakes = s1.voluntary - s0.voluntary;
    r.frames_per_wake = wakes ? static_cast<double>(got) / wakes : 0;
    uint64_t slices = s1.slices - s0.slices;
    r.wait_us_per_wake = slices ? (s1.runq_wait_s - s0.runq_wait_s) * 1e6 / slices : 0;
    r.involuntary_per_s = (s1.involuntary - s0.involuntary) / duration;
  }
  return r;
}

struct Latency {
  double p50_us = 0, p99_us = 0;
  int lost = 0;
  std::string memory;  // the switch's VmRSS and VmHWM after the round trips
};

Latency RunPingPong(Target& t) {
  int pings = absl::GetFlag(FLAGS_pings);
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    uint8_t buf[2048];
    while (!stop.load()) {
      auto n = t.b->Receive(buf, sizeof(buf), absl::Milliseconds(50));
      if (!n.ok()) continue;
      uint8_t tmp[6];
      std::memcpy(tmp, buf, 6);
      std::memcpy(buf, buf + 6, 6);
      std::memcpy(buf + 6, tmp, 6);
      (void)t.b->Send(buf, *n);  // a lost echo shows as a lost ping
    }
  });
  auto frame = MakeFrame(kMacB, kMacA, 64);
  std::vector<double> rtts;
  rtts.reserve(pings);
  Latency out;
  uint8_t buf[2048];
  for (int i = 0; i < pings + 500; ++i) {
    std::memcpy(frame.data() + 14, &i, sizeof(i));
    int64_t t0 = NowNs();
    if (!t.a->Send(frame.data(), frame.size()).ok()) {
      ++out.lost;
      continue;
    }
    bool got = false;
    while (!got) {
      auto n = t.a->Receive(buf, sizeof(buf), absl::Milliseconds(100));
      if (!n.ok()) break;
      int seq;
      std::memcpy(&seq, buf + 14, sizeof(seq));
      got = seq == i;
    }
    if (!got) {
      ++out.lost;
      continue;
    }
    if (i >= 500) rtts.push_back((NowNs() - t0) / 1000.0);  // after a warm-up
  }
  stop = true;
  echo.join();
  std::sort(rtts.begin(), rtts.end());
  if (!rtts.empty()) {
    out.p50_us = rtts[rtts.size() / 2];
    out.p99_us = rtts[rtts.size() * 99 / 100];
  }
  return out;
}

std::string DefaultSwitchcore(const char* argv0) {
  std::string self = argv0;
  std::string dir = self.substr(0, self.rfind('/') + 1);
  return dir + "../clownix-switchcore";
}

// "median (min-max)" of `v` with `fmt` for each number.
std::string Spread(std::vector<double> v, const char* fmt) {
  if (v.empty()) return "-";
  std::sort(v.begin(), v.end());
  auto f = [fmt](double x) {
    char buf[64];
    snprintf(buf, sizeof(buf), fmt, x);
    return std::string(buf);
  };
  double median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return absl::StrCat(f(median), " (", f(v.front()), "-", f(v.back()), ")");
}

std::string Key(size_t size, bool both) { return absl::StrCat(size, both ? "/both" : "/one"); }

}  // namespace
}  // namespace clownix::switchcore

int main(int argc, char** argv) {
  using namespace clownix::switchcore;
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  std::string switchcore = absl::GetFlag(FLAGS_switchcore);
  if (switchcore.empty()) switchcore = DefaultSwitchcore(argv[0]);
  std::vector<std::string> targets = absl::StrSplit(absl::GetFlag(FLAGS_targets), ',');
  std::vector<size_t> sizes;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',')) {
    sizes.push_back(std::stoul(std::string(s)));
  }
  std::vector<bool> directions;
  for (absl::string_view d : absl::StrSplit(absl::GetFlag(FLAGS_directions), ',')) {
    if (d != "one" && d != "both") Die(absl::StrCat("unknown direction ", d));
    directions.push_back(d == "both");
  }
  int rounds = absl::GetFlag(FLAGS_rounds);
  int burners = absl::GetFlag(FLAGS_burners);
  printf(
      "window %d frames, %.1f s per run, %d pings, %d rounds, %ld CPUs, %d CPU burner(s), a "
      "fresh switch per run\nload average at start: %s\n\n",
      absl::GetFlag(FLAGS_window), absl::GetFlag(FLAGS_duration_s), absl::GetFlag(FLAGS_pings),
      rounds, sysconf(_SC_NPROCESSORS_ONLN), burners, LoadAverage().c_str());
  StartBurners(burners);
  // runs[key][target][round]
  std::map<std::string, std::map<std::string, std::vector<Run>>> runs;
  std::map<std::string, std::vector<Latency>> pings;
  bool print = absl::GetFlag(FLAGS_print_runs);
  if (print) {
    printf(
        "| round | size | direction | target | delivered fps | loss %% | switch CPU us/frame | "
        "frames/wake-up | runq wait us/wake-up | preempted/s | host idle %% | load | "
        "switch drops |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  }
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::string> order = targets;
    std::rotate(order.begin(), order.begin() + round % order.size(), order.end());
    for (size_t size : sizes) {
      for (bool both : directions) {
        for (const std::string& name : order) {
          std::unique_ptr<Target> t = Setup(name, switchcore);
          Run r = RunThroughput(*t, size, both);
          runs[Key(size, both)][name].push_back(r);
          if (print) {
            printf(
                "| %d | %zu | %s | %s | %.0f | %.3f | %.2f | %.1f | %.1f | %.0f | %.0f | %s | %s "
                "|\n",
                round + 1, size, both ? "both" : "one", name.c_str(), r.delivered, r.loss_pct,
                r.cpu_us_per_frame, r.frames_per_wake, r.wait_us_per_wake, r.involuntary_per_s,
                r.idle_pct, r.load.c_str(), DropsText(r.switch_drops).c_str());
            fflush(stdout);
          }
        }
      }
    }
    if (absl::GetFlag(FLAGS_pings) > 0) {
      for (const std::string& name : order) {
        std::unique_ptr<Target> t = Setup(name, switchcore);
        Latency l = RunPingPong(*t);
        if (t->pid > 0) {
          l.memory = absl::StrCat("VmRSS ", MemoryKb(t->pid, "VmRSS:"), ", VmHWM ",
                                  MemoryKb(t->pid, "VmHWM:"));
        }
        pings[name].push_back(l);
      }
    }
  }
  std::string load_end = LoadAverage();
  StopBurners();

  printf("\nload average at end: %s\n\nmedian (min-max) over %d rounds:\n\n", load_end.c_str(),
         rounds);
  printf(
      "| size | direction | target | delivered fps | loss %% | switch CPU us/frame | "
      "frames/wake-up | vs uml_switch (fps) | CPU/frame vs uml_switch | host idle %% | switch "
      "drops (all runs) |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (size_t size : sizes) {
    for (bool both : directions) {
      auto& by_target = runs[Key(size, both)];
      for (const std::string& name : targets) {
        const std::vector<Run>& v = by_target[name];
        std::vector<double> fps, loss, cpu, fpw, idle, ratio, cpu_ratio;
        std::vector<int64_t> drops;
        for (size_t i = 0; i < v.size(); ++i) {
          drops.resize(v[i].switch_drops.size(), 0);
          for (size_t k = 0; k < v[i].switch_drops.size(); ++k) drops[k] += v[i].switch_drops[k];
          fps.push_back(v[i].delivered);
          loss.push_back(v[i].loss_pct);
          idle.push_back(v[i].idle_pct);
          if (v[i].cpu_us_per_frame > 0) {
            cpu.push_back(v[i].cpu_us_per_frame);
            fpw.push_back(v[i].frames_per_wake);
          }
          auto uml = by_target.find("uml_switch");
          if (uml != by_target.end() && i < uml->second.size()) {
            const Run& u = uml->second[i];  // same round
            if (u.delivered > 0) ratio.push_back(v[i].delivered / u.delivered);
            if (u.cpu_us_per_frame > 0 && v[i].cpu_us_per_frame > 0) {
              cpu_ratio.push_back(v[i].cpu_us_per_frame / u.cpu_us_per_frame);
            }
          }
        }
        printf("| %zu | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", size,
               both ? "both ways" : "one way", name.c_str(), Spread(fps, "%.0f").c_str(),
               Spread(loss, "%.3f").c_str(), Spread(cpu, "%.2f").c_str(),
               Spread(fpw, "%.1f").c_str(), Spread(ratio, "%.2f").c_str(),
               Spread(cpu_ratio, "%.2f").c_str(), Spread(idle, "%.0f").c_str(),
               DropsText(drops).c_str());
      }
    }
  }
  if (!pings.empty()) {
    printf("\n| target | ping-pong p50 us | p99 us | lost | memory (last round) |\n");
    printf("|---|---|---|---|---|\n");
    for (const std::string& name : targets) {
      std::vector<double> p50, p99;
      int lost = 0;
      for (const Latency& l : pings[name]) {
        p50.push_back(l.p50_us);
        p99.push_back(l.p99_us);
        lost += l.lost;
      }
      std::string memory = pings[name].empty() ? "" : pings[name].back().memory;
      printf("| %s | %s | %s | %d | %s |\n", name.c_str(), Spread(p50, "%.1f").c_str(),
             Spread(p99, "%.1f").c_str(), lost, memory.empty() ? "-" : memory.c_str());
    }
  }
  return 0;
}
