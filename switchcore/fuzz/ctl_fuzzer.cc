// libFuzzer target: everything clownix-switchcore reads from the shared-memory control segment.
// The input becomes either the segment header (CtlSegment::Attach must accept or refuse it
// cleanly) or the request ring's producer index and records, which a real SwitchEngine then
// consumes (ring validation, request validation, LAN/tap/impairment/restore handling, captures:
// the same bytes also fill every capture slot's snaplen and BPF program, which kStartCapture
// checks with bpf_validate).
// Runs in a private network namespace so that any tap a request creates is the fuzzer's own.
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "switchcore/ctl/capture_segment.h"
#include "switchcore/ctl/ctl_layout.h"
#include "switchcore/ctl/ctl_segment.h"
#include "switchcore/switch_engine.h"

namespace sc = clownix::switchcore;

static std::string* work_dir;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)unshare(CLONE_NEWUSER | CLONE_NEWNET);  // best effort: as root, CLONE_NEWNET alone
  (void)unshare(CLONE_NEWNET);
  char tmpl[] = "/tmp/ctlfuzz.XXXXXX";
  work_dir = new std::string(mkdtemp(tmpl));
  atexit([] {  // libFuzzer ends its runs with exit(); what the LANs made goes with the directory.
    std::error_code ignored;  // Best effort: a leftover directory in /tmp harms nothing.
    std::filesystem::remove_all(*work_dir, ignored);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  auto seg = sc::ctl::CtlSegment::Create();
  if (!seg.ok()) abort();
  uint8_t* base = reinterpret_cast<uint8_t*>((*seg)->header());
  int mode = data[0] % 2;
  ++data;
  --size;
  if (mode == 0) {
    // A scribbled header: Attach must refuse or accept without reading out of bounds.
    std::memcpy(base, data, std::min(size, sizeof(sc::ctl::SegmentHeader)));
    (void)sc::ctl::CtlSegment::Attach((*seg)->fd());
    return 0;
  }
  // A valid header, hostile ring contents.
  uint64_t head = 0;
  if (size >= 8) {
    std::memcpy(&head, data, 8);
    data += 8;
    size -= 8;
    head %= 2 * sc::ctl::kRequestSlots + 3;  // mostly plausible, sometimes impossible
  }
  std::memcpy((*seg)->request_slots(), data,
              std::min<size_t>(size, sc::ctl::kRequestSlots * sc::ctl::kRecordSize));
  (*seg)->header()->request_head.value.store(head);
  auto attached = sc::ctl::CtlSegment::Attach((*seg)->fd());
  if (!attached.ok()) abort();
  // One capture segment for the whole run (64 MiB of address space, sparse).
  static sc::ctl::CaptureSegment* capture = [] {
    auto c = sc::ctl::CaptureSegment::Create();
    if (!c.ok()) abort();
    return c->release();
  }();
  for (uint32_t i = 0; i < sc::ctl::kCaptureSlots; ++i) {
    capture->ResetSlot(i);
    uint32_t insns = size >= 8 * 64 ? 64 : static_cast<uint32_t>(size / 8);
    capture->slot(i)->snaplen = size > i ? data[i] * 300u : 0;
    capture->slot(i)->program_len = size > i + 16 ? data[i + 16] % (insns + 1) : 0;
    std::memcpy(capture->program(i), data, insns * 8);
  }
  auto capture_view = sc::ctl::CaptureSegment::Attach(capture->fd());
  if (!capture_view.ok()) abort();
  int req_efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
  int evt_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  sc::SwitchEngine::Options options;
  options.work_dir = *work_dir;
  options.pool_frames = 64;
  auto engine = sc::SwitchEngine::Create(options, *std::move(attached), req_efd, evt_efd,
                                         *std::move(capture_view));
  if (!engine.ok()) abort();
  for (int i = 0; i < 2 && !(*engine)->shut_down(); ++i) (void)(*engine)->Poll(0);
  return 0;
}
