#include "switchcore/bench/traffic.h"

#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace clownix::switchcore {
namespace {

long FutexWait(std::atomic<uint32_t>* word, uint32_t value, int64_t timeout_ns) {
  struct timespec ts = {static_cast<time_t>(timeout_ns / 1000000000), timeout_ns % 1000000000};
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, value, &ts,
                 nullptr, 0);
}
void FutexWake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

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

SchedSample Sched(pid_t pid) {
  SchedSample s;
  if (pid <= 0) return s;
  std::ifstream f(absl::StrCat("/proc/", pid, "/schedstat"));
  uint64_t on = 0, wait = 0;
  f >> on >> wait >> s.slices;
  s.cpu_s = on / 1e9;
  s.runq_wait_s = wait / 1e9;
  std::ifstream st(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(st, line)) {
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0) {
      s.voluntary = std::stoull(line.substr(line.find(':') + 1));
    } else if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
      s.involuntary = std::stoull(line.substr(line.find(':') + 1));
    }
  }
  return s;
}

HostCpu HostCpuNow() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  f >> cpu;  // "cpu": the sum over all CPUs
  HostCpu h;
  for (int i = 0; i < 8; ++i) {
    uint64_t v = 0;
    f >> v;
    h.total += v;
    if (i == 3 || i == 4) h.idle += v;  // idle, iowait
  }
  return h;
}

double IdlePercent(const HostCpu& before, const HostCpu& after) {
  uint64_t total = after.total - before.total;
  return total == 0 ? 0 : 100.0 * (after.idle - before.idle) / total;
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

std::vector<uint8_t> MakeFrame(const uint8_t* dst, const uint8_t* src, size_t len) {
  std::vector<uint8_t> f(len, 0x5a);
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  f[12] = 0x88;  // local experimental ethertype
  f[13] = 0xb5;
  return f;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string line;
  std::getline(f, line);
  return line;
}

void Flow::Start(int64_t deadline_ns, int window, int64_t loss_timeout_ns) {
  deadline_ns_ = deadline_ns;
  receiver_ = std::thread([this] { Receive(); });
  sender_ = std::thread([this, window, loss_timeout_ns] { Send(window, loss_timeout_ns); });
}

void Flow::Join() {
  sender_.join();
  receiver_.join();
}

void Flow::Send(int window, int64_t loss_timeout_ns) {
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

void Flow::Receive() {
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

}  // namespace clownix::switchcore
