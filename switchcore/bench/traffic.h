// Traffic for the switch benchmarks (switch_bench, capture_bench): endpoints that behave like UML
// VMs exchange frames in a closed loop (Flow), and the switch's CPU time is read from /proc.
#ifndef CLOWNIX_SWITCHCORE_BENCH_TRAFFIC_H_
#define CLOWNIX_SWITCHCORE_BENCH_TRAFFIC_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "switchcore/testing/daemon_endpoint.h"

namespace clownix::switchcore {

// CLOCK_MONOTONIC in ns.
int64_t NowNs();
// CPU seconds (user+system) of a process, from /proc.
double CpuSeconds(pid_t pid);
// What the scheduler says about a single-threaded process (/proc/PID/schedstat and status).
struct SchedSample {
  double cpu_s = 0;        // time on a CPU (ns precision, unlike CpuSeconds's clock ticks)
  double runq_wait_s = 0;  // time runnable but waiting for a CPU
  uint64_t slices = 0;     // times it was put on a CPU
  uint64_t voluntary = 0;  // context switches because it blocked (its wake-ups)
  uint64_t involuntary = 0;
};
SchedSample Sched(pid_t pid);
// Jiffies of the whole host: idle (idle + iowait) and total, from /proc/stat.
struct HostCpu {
  uint64_t idle = 0, total = 0;
};
HostCpu HostCpuNow();
// The share of the host's CPU time that was idle between two samples, in %.
double IdlePercent(const HostCpu& before, const HostCpu& after);
// A field of /proc/PID/status ("VmRSS:"), as it is written there.
std::string MemoryKb(pid_t pid, const char* key);
// The host's load average line (/proc/loadavg).
std::string LoadAverage();

inline constexpr uint8_t kMacA[6] = {0x02, 0, 0, 0, 0x0b, 0x01};
inline constexpr uint8_t kMacB[6] = {0x02, 0, 0, 0, 0x0b, 0x02};
// A frame of `len` bytes from `src` to `dst`, ethertype 0x88b5 (local experimental).
std::vector<uint8_t> MakeFrame(const uint8_t* dst, const uint8_t* src, size_t len);

// One direction of closed-loop traffic: a sender keeps at most `window` frames in flight (sent,
// not yet received); a window stalled for `loss_timeout_ns` counts its frames as lost.
class Flow {
 public:
  Flow(DaemonEndpoint* tx, DaemonEndpoint* rx, const uint8_t* dst, const uint8_t* src, size_t len)
      : tx_(tx), rx_(rx), frame_(MakeFrame(dst, src, len)) {}

  void Start(int64_t deadline_ns, int window, int64_t loss_timeout_ns);
  void Join();
  uint64_t sent() const { return sent_; }
  // Frames received, including those in flight at the deadline (drained for 300 ms after it).
  uint64_t delivered() const { return received_.load(); }

 private:
  void Send(int window, int64_t loss_timeout_ns);
  void Receive();

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

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_BENCH_TRAFFIC_H_
