// capture_bench: what packet capture costs clownix-switchcore's forwarding, and what a capture
// loses at full rate. Two endpoints that behave like UML VMs (switchcore/bench/traffic.h) push
// closed-loop traffic through one LAN while one of these runs:
//   none     no capture (the baseline)
//   all      a capture of the whole LAN, no filter, a reader thread draining it
//   nomatch  a capture of the whole LAN whose filter matches nothing (ether proto 0x1234), a
//            reader thread waiting on it
// Per run: delivered frames/s, the switch's CPU (user+system, /proc) per delivered frame, frames
// the reader got and frames the capture dropped (ring full). The modes are measured in
// interleaved rounds, their order rotated each round; each ratio compares a run with the `none`
// run of the same round, and min/median/max over the rounds are printed.
// Then, in this process (--micro_frames), what capturing one frame costs the switch's thread:
// CaptureWriter::Offer per frame (filter, timestamp, copy into the ring) and Publish once per 32
// frames, a reader thread draining the ring meanwhile.
#include <linux/filter.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
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
#include "switchcore/capture_writer.h"
#include "switchcore/ctl/capture_ring_reader.h"
#include "switchcore/ctl/capture_segment.h"
#include "switchcore/ctl/capture_session.h"
#include "switchcore/ctl/switch_client.h"
#include "switchcore/testing/daemon_endpoint.h"

ABSL_FLAG(std::string, switchcore, "", "path of clownix-switchcore (default: beside this binary)");
ABSL_FLAG(std::string, sizes, "64,1514", "frame sizes in bytes");
ABSL_FLAG(std::string, modes, "none,all,nomatch", "capture modes to measure");
ABSL_FLAG(double, duration_s, 2.0, "seconds per throughput run");
ABSL_FLAG(int, window, 8, "frames in flight per direction");
ABSL_FLAG(int, loss_timeout_us, 2000, "a window stalled this long counts its frames as lost");
ABSL_FLAG(int, rounds, 5, "measure every mode this many times, interleaved");
ABSL_FLAG(int, micro_frames, 2000000, "frames offered per in-process measurement (0: none)");

namespace clownix::switchcore {
namespace {

void Die(const std::string& what) {
  fprintf(stderr, "capture_bench: %s\n", what.c_str());
  exit(1);
}

struct Run {
  double delivered = 0;  // frames/s
  double cpu_us_per_frame = 0;
  double captured = 0;  // frames/s the reader got
  uint64_t dropped = 0;
  uint64_t matched = 0;  // captured + dropped
};

// The capture of one run and its reader thread.
class Reader {
 public:
  explicit Reader(std::unique_ptr<CaptureSession> session) : session_(std::move(session)) {
    thread_ = std::thread([this] {
      auto count = [this](const CapturedFrame&) { ++frames_; };
      while (!stop_.load()) {
        absl::Status s = session_->Read(absl::Now() + absl::Milliseconds(50), 1024, count);
        if (!s.ok()) Die(s.ToString());
      }
      // What is left.
      while (session_->Read(absl::Now(), 1024, count).ok() && frames_ != last_) last_ = frames_;
    });
  }
  // Stops reading (after what was captured), returns frames read.
  uint64_t Finish() {
    stop_.store(true);
    thread_.join();
    return frames_;
  }
  uint64_t dropped() const { return session_->dropped(); }

 private:
  std::unique_ptr<CaptureSession> session_;
  std::atomic<bool> stop_{false};
  uint64_t frames_ = 0, last_ = ~0ull;
  std::thread thread_;
};

std::vector<sock_filter> MatchNothing() {
  // ether proto 0x1234 (tcpdump -dd): the benchmark's frames are 0x88b5.
  return {
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x1234, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 262144),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
}

Run Measure(SwitchClient& client, DaemonEndpoint& a, DaemonEndpoint& b, const std::string& mode,
            size_t size, bool both_ways) {
  std::unique_ptr<Reader> reader;
  if (mode != "none") {
    CaptureSpec spec;
    spec.lan = "bench";
    if (mode == "nomatch") spec.program = MatchNothing();
    absl::StatusOr<std::unique_ptr<CaptureSession>> session = client.StartCapture(spec);
    if (!session.ok()) Die(session.status().ToString());
    reader = std::make_unique<Reader>(*std::move(session));
  }
  double duration = absl::GetFlag(FLAGS_duration_s);
  int64_t deadline = NowNs() + static_cast<int64_t>(duration * 1e9);
  int64_t loss_timeout = absl::GetFlag(FLAGS_loss_timeout_us) * 1000ll;
  Flow ab(&a, &b, kMacB, kMacA, size);
  Flow ba(&b, &a, kMacA, kMacB, size);
  double cpu0 = CpuSeconds(client.pid());
  ab.Start(deadline, absl::GetFlag(FLAGS_window), loss_timeout);
  if (both_ways) ba.Start(deadline, absl::GetFlag(FLAGS_window), loss_timeout);
  ab.Join();
  if (both_ways) ba.Join();
  double cpu = CpuSeconds(client.pid()) - cpu0;
  uint64_t got = ab.delivered() + (both_ways ? ba.delivered() : 0);
  Run r;
  r.delivered = got / duration;
  r.cpu_us_per_frame = got ? cpu * 1e6 / got : 0;
  if (reader != nullptr) {
    uint64_t frames = reader->Finish();
    r.captured = frames / duration;
    r.dropped = reader->dropped();
    r.matched = frames + r.dropped;
  }
  return r;
}

// ns per frame offered to a CaptureWriter, published every 32 frames; every 1024 frames the ring
// is drained (not timed), so that the write path is what is measured, not the drop path.
double MicroNsPerFrame(const std::vector<sock_filter>& program, size_t size, uint64_t* dropped) {
  auto seg = ctl::CaptureSegment::Create();
  if (!seg.ok()) Die(seg.status().ToString());
  (*seg)->ResetSlot(0);
  (*seg)->slot(0)->snaplen = 65535;
  (*seg)->slot(0)->program_len = program.size();
  std::copy(program.begin(), program.end(), (*seg)->program(0));
  auto writer = CaptureWriter::Create((*seg)->slot(0), (*seg)->program(0), (*seg)->ring(0));
  if (!writer.ok()) Die(writer.status().ToString());
  ctl::CaptureRingReader reader((*seg)->slot(0), (*seg)->ring(0));
  std::vector<uint8_t> frame = MakeFrame(kMacB, kMacA, size);
  CaptureClock clock;
  int n = absl::GetFlag(FLAGS_micro_frames);
  int64_t timed = 0;
  for (int done = 0; done < n; done += 1024) {
    int64_t t0 = NowNs();
    for (int i = 0; i < 1024; ++i) {
      (*writer)->Offer(1, ctl::Direction::kIngress, clock, frame.data(), frame.size());
      if (i % 32 == 31) {
        (*writer)->Publish();
        clock.Reset();
      }
    }
    timed += NowNs() - t0;
    if (!reader.Drain(SIZE_MAX, [](const CapturedFrame&) {}).ok()) Die("ring broken");
  }
  *dropped = (*writer)->dropped();
  return static_cast<double>(timed) / n;
}

struct Spread {
  double min = 0, median = 0, max = 0;
};
Spread Of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return {};
  return {v.front(), v[v.size() / 2], v.back()};
}
}  // namespace
}  // namespace clownix::switchcore

int main(int argc, char** argv) {
  using namespace clownix::switchcore;
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  std::string switchcore = absl::GetFlag(FLAGS_switchcore);
  if (switchcore.empty()) {
    std::string self = argv[0];
    switchcore = self.substr(0, self.rfind('/') + 1) + "../clownix-switchcore";
  }
  std::vector<size_t> sizes;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',')) {
    sizes.push_back(std::stoul(std::string(s)));
  }
  std::vector<std::string> modes = absl::StrSplit(absl::GetFlag(FLAGS_modes), ',');
  int rounds = absl::GetFlag(FLAGS_rounds);

  std::string tmpl = "/tmp/capture-bench-XXXXXX";
  std::string dir = mkdtemp(tmpl.data());
  SwitchClient::Options options;
  options.switchcore_path = switchcore;
  options.work_dir = dir;
  auto client = SwitchClient::Create(options);
  if (!client.ok()) Die(client.status().ToString());
  if (absl::Status s = (*client)->CreateLan("bench"); !s.ok()) Die(s.ToString());
  std::string tag = dir.substr(dir.rfind('/') + 1);
  auto a = DaemonEndpoint::Connect((*client)->ControlPath("bench"), tag + "-a");
  auto b = DaemonEndpoint::Connect((*client)->ControlPath("bench"), tag + "-b");
  if (!a.ok() || !b.ok()) Die("handshake failed");
  // Teach the switch both MACs, then drain.
  const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  auto fa = MakeFrame(bc, kMacA, 64), fb = MakeFrame(bc, kMacB, 64);
  uint8_t buf[2048];
  for (int i = 0; i < 3; ++i) {
    (void)(*a)->Send(fa.data(), fa.size());  // best effort: learning needs only one to arrive
    (void)(*b)->Send(fb.data(), fb.size());
    absl::SleepFor(absl::Milliseconds(20));
  }
  while ((*a)->Receive(buf, sizeof(buf), absl::Milliseconds(50)).ok()) {
  }
  while ((*b)->Receive(buf, sizeof(buf), absl::Milliseconds(50)).ok()) {
  }

  printf("window %d frames, %.1f s per run, %d rounds (median, min-max), %ld CPUs\n",
         absl::GetFlag(FLAGS_window), absl::GetFlag(FLAGS_duration_s), rounds,
         sysconf(_SC_NPROCESSORS_ONLN));
  printf("load average at start: %s\n\n", LoadAverage().c_str());
  // key: size/dir/mode -> runs, in round order
  std::map<std::string, std::vector<Run>> runs;
  for (int round = 0; round < rounds; ++round) {
    for (size_t size : sizes) {
      for (bool both : {false, true}) {
        for (size_t k = 0; k < modes.size(); ++k) {
          const std::string& mode = modes[(k + round) % modes.size()];
          runs[absl::StrCat(size, both ? "/both/" : "/one/", mode)].push_back(
              Measure(**client, **a, **b, mode, size, both));
        }
      }
    }
  }
  printf("load average at end: %s\n\n", LoadAverage().c_str());
  printf(
      "| size | direction | capture | delivered fps | vs none | switch CPU us/frame | CPU vs "
      "none | captured fps | capture drops (%% of matched) |\n");
  printf("|---|---|---|---|---|---|---|---|---|\n");
  auto f0 = [](const Spread& s) {
    return absl::StrFormat("%.0f (%.0f-%.0f)", s.median, s.min, s.max);
  };
  auto f2 = [](const Spread& s) {
    return absl::StrFormat("%.2f (%.2f-%.2f)", s.median, s.min, s.max);
  };
  for (size_t size : sizes) {
    for (bool both : {false, true}) {
      std::string key = absl::StrCat(size, both ? "/both/" : "/one/");
      const std::vector<Run>& base = runs[key + "none"];
      for (const std::string& mode : modes) {
        const std::vector<Run>& v = runs[key + mode];
        std::vector<double> fps, ratio, cpu, cpu_ratio, captured, drops;
        for (size_t i = 0; i < v.size(); ++i) {
          fps.push_back(v[i].delivered);
          cpu.push_back(v[i].cpu_us_per_frame);
          captured.push_back(v[i].captured);
          drops.push_back(v[i].matched ? 100.0 * v[i].dropped / v[i].matched : 0);
          if (i < base.size() && base[i].delivered > 0) {
            ratio.push_back(v[i].delivered / base[i].delivered);
          }
          if (i < base.size() && base[i].cpu_us_per_frame > 0) {
            cpu_ratio.push_back(v[i].cpu_us_per_frame / base[i].cpu_us_per_frame);
          }
        }
        printf("| %zu | %s | %s | %s | %s | %s | %s | %s | %s |\n", size,
               both ? "both ways" : "one way", mode.c_str(), f0(Of(fps)).c_str(),
               base.empty() ? "-" : f2(Of(ratio)).c_str(), f2(Of(cpu)).c_str(),
               base.empty() ? "-" : f2(Of(cpu_ratio)).c_str(),
               mode == "none" ? "-" : f0(Of(captured)).c_str(),
               mode == "none" ? "-" : f2(Of(drops)).c_str());
      }
    }
  }
  if (absl::GetFlag(FLAGS_micro_frames) > 0) {
    std::vector<sock_filter> match = MatchNothing();
    match[1].k = 0x88b5;  // ether proto 0x88b5: every benchmark frame
    printf("\nIn process, %d frames each (ns per frame offered, min of 3):\n\n",
           absl::GetFlag(FLAGS_micro_frames));
    printf("| filter | size | ns/frame | dropped |\n|---|---|---|---|\n");
    struct Case {
      const char* name;
      std::vector<sock_filter> program;
    } cases[] = {{"none", {}},
                 {"ether proto 0x88b5 (matches)", match},
                 {"ether proto 0x1234 (matches nothing)", MatchNothing()}};
    for (const Case& c : cases) {
      for (size_t size : sizes) {
        double best = 1e18;
        uint64_t dropped = 0;
        for (int k = 0; k < 3; ++k) {
          uint64_t d = 0;
          best = std::min(best, MicroNsPerFrame(c.program, size, &d));
          dropped += d;
        }
        printf("| %s | %zu | %.0f | %llu |\n", c.name, size, best,
               static_cast<unsigned long long>(dropped));
      }
    }
  }
  printf("\nswitch memory after the runs: VmRSS %s, VmHWM %s\n",
         MemoryKb((*client)->pid(), "VmRSS:").c_str(),
         MemoryKb((*client)->pid(), "VmHWM:").c_str());
  a->reset();
  b->reset();
  client->reset();
  std::string cmd = absl::StrCat("rm -rf '", dir, "'");
  if (system(cmd.c_str()) != 0) fprintf(stderr, "could not remove %s\n", dir.c_str());
  return 0;
}
