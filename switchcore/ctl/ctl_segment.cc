#include "switchcore/ctl/ctl_segment.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace clownix::switchcore::ctl {

absl::StatusOr<std::unique_ptr<CtlSegment>> CtlSegment::Create() {
  int fd = memfd_create("clownix-switchcore-ctl", MFD_CLOEXEC);
  if (fd < 0) return absl::ResourceExhaustedError(absl::StrCat("memfd_create: ", strerror(errno)));
  if (ftruncate(fd, kSegmentSize) != 0) {
    int e = errno;
    close(fd);
    return absl::ResourceExhaustedError(absl::StrCat("ftruncate ctl segment: ", strerror(e)));
  }
  void* p = mmap(nullptr, kSegmentSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    close(fd);
    return absl::ResourceExhaustedError(absl::StrCat("mmap ctl segment: ", strerror(e)));
  }
  auto seg = std::unique_ptr<CtlSegment>(new CtlSegment(static_cast<uint8_t*>(p), fd));
  SegmentHeader* h = seg->header();
  h->magic = kCtlMagic;
  h->version = kCtlVersion;
  h->size = kSegmentSize;
  h->request_offset = kRequestOffset;
  h->request_slots = kRequestSlots;
  h->event_offset = kEventOffset;
  h->event_slots = kEventSlots;
  h->counters_offset = kCountersOffset;
  h->counter_slots = kCounterSlots;
  h->record_size = kRecordSize;
  h->counter_size = sizeof(PortCounters);
  return seg;
}

absl::StatusOr<std::unique_ptr<CtlSegment>> CtlSegment::Attach(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("ctl fd ", fd, ": ", strerror(errno)));
  }
  if (static_cast<uint64_t>(st.st_size) != kSegmentSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("ctl segment is ", st.st_size, " bytes, want ", kSegmentSize));
  }
  void* p = mmap(nullptr, kSegmentSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    return absl::InvalidArgumentError(absl::StrCat("mmap ctl fd ", fd, ": ", strerror(errno)));
  }
  auto seg = std::unique_ptr<CtlSegment>(new CtlSegment(static_cast<uint8_t*>(p), -1));
  // Copy the header once and check the copy.
  SegmentHeader h;
  std::memcpy(static_cast<void*>(&h), p, offsetof(SegmentHeader, switch_pid));
  if (h.magic != kCtlMagic) {
    return absl::InvalidArgumentError(absl::StrCat("ctl segment magic ", h.magic, " is wrong"));
  }
  if (h.version != kCtlVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("ctl segment version ", h.version, ", want ", kCtlVersion));
  }
  if (h.size != kSegmentSize || h.request_offset != kRequestOffset ||
      h.request_slots != kRequestSlots || h.event_offset != kEventOffset ||
      h.event_slots != kEventSlots || h.counters_offset != kCountersOffset ||
      h.counter_slots != kCounterSlots || h.record_size != kRecordSize ||
      h.counter_size != sizeof(PortCounters)) {
    return absl::InvalidArgumentError("ctl segment header does not match this build's layout");
  }
  return seg;
}

CtlSegment::~CtlSegment() {
  munmap(base_, kSegmentSize);
  if (fd_ >= 0) close(fd_);
}

void CtlSegment::ResetRings() {
  SegmentHeader* h = header();
  h->request_head.value.store(0);
  h->request_tail.value.store(0);
  h->event_head.value.store(0);
  h->event_tail.value.store(0);
  h->events_lost.store(0);
  h->peers_refused.store(0);
  h->switch_pid.store(0);
}

}  // namespace clownix::switchcore::ctl
