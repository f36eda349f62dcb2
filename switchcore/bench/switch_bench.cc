// switch_bench: measures frames/s and ping-pong latency through UML daemon-protocol switches, with
// endpoints that behave like UML VMs (a bound abstract datagram socket, one sendto per frame):
//   direct       endpoint -> endpoint, no switch (the baseline)
//   clownix      clownix-switchcore, started through SwitchClient
//   uml_switch   uml-utilities' uml_switch -unix PATH
//   vde_switch   vde2's vde_switch -s DIR (daemon-protocol clients on DIR/ctl)
// Throughput is closed loop: a sender keeps at most --window frames in flight (sent, not yet
// received); a frame not received within --loss_timeout_us is counted lost. "offered" is what the
// sender sent, "delivered" what arrived, both per second over --duration_s.
// CPU per frame is the switch process's user+system time divided by the frames it delivered.
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "switchcore/ctl/switch_client.h"
#include "switchcore/testing/daemon_endpoint.h"

ABSL_FLAG(std::string, switchcore, "", "path of clownix-switchcore (default: beside this binary)");
ABSL_FLAG(std::string, targets, "direct,clownix,uml_switch,vde_switch", "what to measure");
ABSL_FLAG(std::string, sizes, "64,1514", "frame sizes in bytes");
ABSL_FLAG(double, duration_s, 2.0, "seconds per throughput run");
ABSL_FLAG(int, window, 8, "frames in flight per direction");
ABSL_FLAG(int, loss_timeout_us, 2000, "a window stalled this long counts its frames as lost");
ABSL_FLAG(int, pings, 20000, "ping-pong round trips for the latency figures");
ABSL_FLAG(int, rounds, 3, "measure every target this many times, interleaved; report medians");

namespace clownix::switchcore {
namespace {

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

void Die(const std::string& what) {
  fprintf(stderr, "switch_bench: %s\n", what.c_str());
  exit(1);
}

// CPU seconds (user+system) of a process, from /proc.
double CpuSeconds(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream f(absl::StrCat("/proc/", pid, "/stat"));
  std::string line((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
  // fields[0] is field 3 (state); utime is field 14, stime 15.
  double ticks = std::stod(fields[11]) + std::stod(fields[12]);
  return ticks / sysconf(_SC_CLK_TCK);
}

std::string MemoryKb(pid_t pid, const char* key) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) {
      std::string v = line.substr(strlen(key) + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "?";
}

long FutexWait(std::atomic<uint32_t>* word, uint32_t value, int64_t timeout_ns) {
  struct timespec ts = {static_cast<time_t>(timeout_ns / 1000000000), timeout_ns % 1000000000};
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, value, &ts,
                 nullptr, 0);
}
void FutexWake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

const uint8_t kMacA[6] = {0x02, 0, 0, 0, 0x0b, 0x01};
const uint8_t kMacB[6] = {0x02, 0, 0, 0, 0x0b, 0x02};

std::vector<uint8_t> MakeFrame(const uint8_t* dst, const uint8_t* src, size_t len) {
  std::vector<uint8_t> f(len, 0x5a);
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  f[12] = 0x88;  // local experimental ethertype
  f[13] = 0xb5;
  return f;
}

// One direction of closed-loop traffic.
class Flow {
 public:
  Flow(DaemonEndpoint* tx, DaemonEndpoint* rx, const uint8_t* dst, const uint8_t* src, size_t len)
      : tx_(tx), rx_(rx), frame_(MakeFrame(dst, src, len)) {}

  void Start(int64_t deadline_ns, int window, int64_t loss_timeout_ns) {
    deadline_ns_ = deadline_ns;
    receiver_ = std::thread([this] { Receive(); });
    sender_ = std::thread([this, window, loss_timeout_ns] { Send(window, loss_timeout_ns); });
  }
  void Join() {
    sender_.join();
    receiver_.join();
  }
  uint64_t sent() const { return sent_; }
  // Frames received, including those in flight at the deadline (drained for 300 ms after it).
  uint64_t delivered() const { return received_.load(); }

 private:
  void Send(int window, int64_t loss_timeout_ns) {
    uint64_t lost = 0;
    while (NowNs() < deadline_ns_) {
      uint64_t received = received_.load(std::memory_order_acquire);
      if (sent_ - received - lost < static_cast<uint64_t>(window)) {
        if (tx_->Send(frame_.data(), frame_.size()).ok()) ++sent_;
        continue;
      }
      uint32_t word = word_.load(std::memory_order_acquire);
      waiting_.store(true, std::memory_order_seq_cst);
      if (received_.load(std::memory_order_seq_cst) == received) {
        FutexWait(&word_, word, loss_timeout_ns);
      }
      waiting_.store(false, std::memory_order_relaxed);
      if (received_.load(std::memory_order_acquire) == received) {
        lost += sent_ - received - lost;  // the window stalled: those frames are gone
      }
    }
  }

  void Receive() {
    constexpr int kBatch = 32;
    static thread_local uint8_t bufs[kBatch][2048];
    struct mmsghdr msgs[kBatch];
    struct iovec iov[kBatch];
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i], sizeof(bufs[i])};
      std::memset(&msgs[i], 0, sizeof(msgs[i]));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    struct timeval tv = {0, 50000};
    setsockopt(rx_->data_fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int64_t stop = deadline_ns_ + 300 * 1000000ll;
    while (NowNs() < stop) {
      int n = recvmmsg(rx_->data_fd(), msgs, kBatch, MSG_WAITFORONE, nullptr);
      if (n <= 0) continue;
      int mine = 0;
      for (int i = 0; i < n; ++i) {
        if (msgs[i].msg_len == frame_.size() && std::memcmp(bufs[i], frame_.data(), 12) == 0) {
          ++mine;
        }
      }
      received_.fetch_add(mine, std::memory_order_seq_cst);
      word_.fetch_add(1, std::memory_order_release);
      if (waiting_.load(std::memory_order_seq_cst)) FutexWake(&word_);
    }
  }

  DaemonEndpoint* tx_;
  DaemonEndpoint* rx_;
  std::vector<uint8_t> frame_;
  int64_t deadline_ns_ = 0;
  uint64_t sent_ = 0;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint32_t> word_{0};
  std::atomic<bool> waiting_{false};
  std::thread sender_, receiver_;
};

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

// Starts `argv` with a stdin pipe held open (both reference switches exit on EOF on stdin).
void SpawnSwitch(Target& t, std::vector<std::string> args) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) Die("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[0], 0);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
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
  if (name == "clownix") {
    SwitchClient::Options options;
    options.switchcore_path = switchcore;
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
    (void)t->a->Send(fa.data(), fa.size());
    (void)t->b->Send(fb.data(), fb.size());
    absl::SleepFor(absl::Milliseconds(20));
  }
  while (t->a->Receive(buf, sizeof(buf), absl::Milliseconds(50)).ok()) {
  }
  while (t->b->Receive(buf, sizeof(buf), absl::Milliseconds(50)).ok()) {
  }
  return t;
}

struct Throughput {
  double offered = 0, delivered = 0, loss_pct = 0, cpu_us_per_frame = 0;
};

Throughput RunThroughput(Target& t, size_t size, bool both_ways) {
  double duration = absl::GetFlag(FLAGS_duration_s);
  int64_t deadline = NowNs() + static_cast<int64_t>(duration * 1e9);
  Flow ab(t.a.get(), t.b.get(), kMacB, kMacA, size);
  Flow ba(t.b.get(), t.a.get(), kMacA, kMacB, size);
  double cpu0 = CpuSeconds(t.pid);
  int64_t loss_timeout = absl::GetFlag(FLAGS_loss_timeout_us) * 1000ll;
  ab.Start(deadline, absl::GetFlag(FLAGS_window), loss_timeout);
  if (both_ways) ba.Start(deadline, absl::GetFlag(FLAGS_window), loss_timeout);
  ab.Join();
  if (both_ways) ba.Join();
  double cpu = CpuSeconds(t.pid) - cpu0;
  Throughput r;
  uint64_t sent = ab.sent() + (both_ways ? ba.sent() : 0);
  uint64_t got = ab.delivered() + (both_ways ? ba.delivered() : 0);
  r.offered = sent / duration;
  r.delivered = got / duration;
  r.loss_pct = sent ? 100.0 * (sent > got ? sent - got : 0) / sent : 0;
  r.cpu_us_per_frame = got ? cpu * 1e6 / got : 0;
  return r;
}

struct Latency {
  double p50_us = 0, p99_us = 0;
  int lost = 0;
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
      (void)t.b->Send(buf, *n);
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
  printf("window %d frames, %.1f s per run, %d pings, %d rounds (medians), %ld CPUs\n\n",
         absl::GetFlag(FLAGS_window), absl::GetFlag(FLAGS_duration_s), absl::GetFlag(FLAGS_pings),
         absl::GetFlag(FLAGS_rounds), sysconf(_SC_NPROCESSORS_ONLN));
  printf(
      "| target | size | direction | offered fps | delivered fps | loss %% | vs direct | "
      "vs uml_switch | switch CPU us/frame |\n");
  printf("|---|---|---|---|---|---|---|---|---|\n");
  // Every target is set up once; rounds interleave the targets so that background load on a
  // shared machine hits them alike. Medians are reported.
  std::vector<std::unique_ptr<Target>> setups;
  for (const std::string& name : targets) setups.push_back(Setup(name, switchcore));
  int rounds = absl::GetFlag(FLAGS_rounds);
  std::map<std::string, std::vector<Throughput>> runs;  // key: size/dir/target
  std::map<std::string, std::vector<Latency>> pings;
  for (int round = 0; round < rounds; ++round) {
    for (auto& t : setups) {
      for (size_t size : sizes) {
        for (bool both : {false, true}) {
          runs[absl::StrCat(size, both ? "/both/" : "/one/", t->name)].push_back(
              RunThroughput(*t, size, both));
        }
      }
      pings[t->name].push_back(RunPingPong(*t));
    }
  }
  auto median = [](std::vector<Throughput> v) {
    std::sort(v.begin(), v.end(),
              [](const Throughput& a, const Throughput& b) { return a.delivered < b.delivered; });
    return v[v.size() / 2];
  };
  std::map<std::string, double> delivered;
  for (auto& [key, v] : runs) delivered[key] = median(v).delivered;
  for (size_t size : sizes) {
    for (bool both : {false, true}) {
      std::string key = absl::StrCat(size, both ? "/both/" : "/one/");
      for (auto& t : setups) {
        Throughput r = median(runs[key + t->name]);
        auto ratio = [&](const std::string& other) -> std::string {
          auto it = delivered.find(key + other);
          if (it == delivered.end() || it->second == 0) return "-";
          return absl::StrFormat("%.2f", r.delivered / it->second);
        };
        printf("| %s | %zu | %s | %.0f | %.0f | %.3f | %s | %s | %s |\n", t->name.c_str(), size,
               both ? "both ways" : "one way", r.offered, r.delivered, r.loss_pct,
               ratio("direct").c_str(), ratio("uml_switch").c_str(),
               t->pid ? absl::StrFormat("%.2f", r.cpu_us_per_frame).c_str() : "-");
      }
    }
  }
  std::map<std::string, Latency> latency;
  std::map<std::string, std::string> memory;
  for (auto& t : setups) {
    std::vector<Latency> v = pings[t->name];
    std::sort(v.begin(), v.end(),
              [](const Latency& a, const Latency& b) { return a.p50_us < b.p50_us; });
    latency[t->name] = v[v.size() / 2];
    if (t->pid) {
      memory[t->name] = absl::StrCat("VmRSS ", MemoryKb(t->pid, "VmRSS:"), ", VmHWM ",
                                     MemoryKb(t->pid, "VmHWM:"));
    }
  }
  setups.clear();
  printf("\n| target | ping-pong p50 us | p99 us | p50 vs direct | lost | memory |\n");
  printf("|---|---|---|---|---|---|\n");
  for (const std::string& name : targets) {
    const Latency& l = latency[name];
    std::string vs = "-";
    if (latency.count("direct") && latency["direct"].p50_us > 0) {
      vs = absl::StrFormat("%.2f", l.p50_us / latency["direct"].p50_us);
    }
    printf("| %s | %.1f | %.1f | %s | %d | %s |\n", name.c_str(), l.p50_us, l.p99_us, vs.c_str(),
           l.lost, memory.count(name) ? memory[name].c_str() : "-");
  }
  return 0;
}
