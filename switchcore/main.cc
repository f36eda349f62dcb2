// clownix-switchcore: parses flags, attaches the control segment and runs the SwitchEngine.
// Started by clownixd through SwitchClient (switchcore/ctl/switch_client.h).
#include <sched.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "switchcore/ctl/capture_segment.h"
#include "switchcore/ctl/ctl_segment.h"
#include "switchcore/switch_engine.h"

ABSL_FLAG(int, ctl_fd, -1, "inherited memfd of the control segment (switchcore/ctl/ctl_layout.h)");
ABSL_FLAG(int, request_eventfd, -1, "inherited eventfd the client writes after each request");
ABSL_FLAG(int, event_eventfd, -1, "inherited eventfd the switch writes after each event");
ABSL_FLAG(int, capture_fd, -1,
          "inherited memfd of the capture segment (switchcore/ctl/capture_layout.h); unset: "
          "captures are refused");
ABSL_FLAG(std::string, work_dir, "", "directory holding lans/<lan>/ctl");
ABSL_FLAG(int, incarnation, 0,
          "high bits of this switch's port ids (SwitchClient gives every switch start its own "
          "incarnation, across clownixd restarts too)");
ABSL_FLAG(int, max_ports_per_lan, 256, "ports a LAN accepts");
ABSL_FLAG(int, mac_table_size, 4096, "MAC table entries per LAN");
ABSL_FLAG(int, macs_per_port, 1024, "MAC entries one port may own");
ABSL_FLAG(int, mac_aging_s, 300, "seconds a MAC entry lives without traffic");
ABSL_FLAG(int, frame_pool, 8192, "frames held for impairments and full receivers");
ABSL_FLAG(int64_t, vm_uid_first, -1,
          "first uid of clownix's VMs: with --vm_uid_last, the range of uids (besides root and "
          "the switch's own) allowed to connect to a LAN's control socket; unset: none");
ABSL_FLAG(int64_t, vm_uid_last, -1, "last uid of clownix's VMs (included), see --vm_uid_first");
ABSL_FLAG(
    bool, sched_batch, true,
    "run under SCHED_BATCH: a frame does not preempt the VM that sent it, so the switch takes "
    "the sender's burst in one wake-up (fewer context switches and system calls per frame; "
    "the price: it does not preempt a CPU hog either; docs/benchmarks/switchcore.md)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "clownix-switchcore --ctl_fd=N --request_eventfd=N --event_eventfd=N --work_dir=DIR");
  absl::ParseCommandLine(argc, argv);
  int ctl_fd = absl::GetFlag(FLAGS_ctl_fd);
  int req_fd = absl::GetFlag(FLAGS_request_eventfd);
  int evt_fd = absl::GetFlag(FLAGS_event_eventfd);
  std::string work_dir = absl::GetFlag(FLAGS_work_dir);
  if (ctl_fd < 0 || req_fd < 0 || evt_fd < 0 || work_dir.empty()) {
    fprintf(stderr,
            "clownix-switchcore: --ctl_fd, --request_eventfd, --event_eventfd and "
            "--work_dir are required\n");
    return 2;
  }
  auto segment = clownix::switchcore::ctl::CtlSegment::Attach(ctl_fd);
  if (!segment.ok()) {
    fprintf(stderr, "clownix-switchcore: %s\n", segment.status().ToString().c_str());
    return 2;
  }
  std::unique_ptr<clownix::switchcore::ctl::CaptureSegment> capture_segment;
  if (int capture_fd = absl::GetFlag(FLAGS_capture_fd); capture_fd >= 0) {
    auto attached = clownix::switchcore::ctl::CaptureSegment::Attach(capture_fd);
    if (!attached.ok()) {
      fprintf(stderr, "clownix-switchcore: %s\n", attached.status().ToString().c_str());
      return 2;
    }
    capture_segment = *std::move(attached);
  }
  clownix::switchcore::SwitchEngine::Options options;
  options.work_dir = work_dir;
  options.incarnation = absl::GetFlag(FLAGS_incarnation);
  options.lan_limits.max_ports = absl::GetFlag(FLAGS_max_ports_per_lan);
  options.lan_limits.mac_capacity = absl::GetFlag(FLAGS_mac_table_size);
  options.lan_limits.macs_per_port = absl::GetFlag(FLAGS_macs_per_port);
  options.lan_limits.mac_aging_ns = absl::GetFlag(FLAGS_mac_aging_s) * 1000000000ll;
  options.pool_frames = absl::GetFlag(FLAGS_frame_pool);
  options.seed = static_cast<uint64_t>(getpid()) * 0x9e3779b97f4a7c15ull;
  int64_t uid_first = absl::GetFlag(FLAGS_vm_uid_first);
  int64_t uid_last = absl::GetFlag(FLAGS_vm_uid_last);
  if ((uid_first < 0) != (uid_last < 0) || uid_first > UINT32_MAX || uid_last > UINT32_MAX) {
    fprintf(stderr,
            "clownix-switchcore: --vm_uid_first and --vm_uid_last go together, each a uid\n");
    return 2;
  }
  if (uid_first >= 0) {
    options.vm_uids = clownix::switchcore::UidRange{static_cast<uint32_t>(uid_first),
                                                    static_cast<uint32_t>(uid_last)};
  }
  if (absl::GetFlag(FLAGS_sched_batch)) {
    struct sched_param param = {};
    if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
      // Only a scheduling hint (never refused for one's own process): forwarding works without.
      perror("clownix-switchcore: sched_setscheduler(SCHED_BATCH)");
    }
  }
  auto engine = clownix::switchcore::SwitchEngine::Create(options, *std::move(segment), req_fd,
                                                          evt_fd, std::move(capture_segment));
  if (!engine.ok()) {
    fprintf(stderr, "clownix-switchcore: %s\n", engine.status().ToString().c_str());
    return 2;
  }
  absl::Status status = (*engine)->Run();
  if (!status.ok()) {
    fprintf(stderr, "clownix-switchcore: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
