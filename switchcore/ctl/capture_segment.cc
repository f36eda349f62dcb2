#include "switchcore/ctl/capture_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace clownix::switchcore::ctl {

absl::StatusOr<std::unique_ptr<CaptureSegment>> CaptureSegment::Create() {
  int fd = memfd_create("clownix-switchcore-capture", MFD_CLOEXEC);
  if (fd < 0) return absl::ResourceExhaustedError(absl::StrCat("memfd_create: ", strerror(errno)));
  if (ftruncate(fd, kCaptureSegmentSize) != 0) {
    int e = errno;
    close(fd);
    return absl::ResourceExhaustedError(absl::StrCat("ftruncate capture segment: ", strerror(e)));
  }
  void* p = mmap(nullptr, kCaptureSegmentSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    close(fd);
    return absl::ResourceExhaustedError(absl::StrCat("mmap capture segment: ", strerror(e)));
  }
  auto seg = std::unique_ptr<CaptureSegment>(new CaptureSegment(static_cast<uint8_t*>(p), fd));
  auto* h = reinterpret_cast<CaptureSegmentHeader*>(p);
  h->magic = kCaptureMagic;
  h->version = kCaptureVersion;
  h->size = kCaptureSegmentSize;
  h->slots = kCaptureSlots;
  h->slot_size = kCaptureSlotSize;
  h->slot_offset = kCaptureSlotOffset;
  h->program_offset = kCaptureProgramOffset;
  h->ring_offset = kCaptureRingOffset;
  h->ring_bytes = kCaptureRingBytes;
  h->max_insns = kCaptureMaxInsns;
  h->record_size = sizeof(CaptureRecord);
  return seg;
}

absl::StatusOr<std::unique_ptr<CaptureSegment>> CaptureSegment::Attach(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("capture fd ", fd, ": ", strerror(errno)));
  }
  if (static_cast<uint64_t>(st.st_size) != kCaptureSegmentSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("capture segment is ", st.st_size, " bytes, want ", kCaptureSegmentSize));
  }
  void* p = mmap(nullptr, kCaptureSegmentSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    return absl::InvalidArgumentError(absl::StrCat("mmap capture fd ", fd, ": ", strerror(errno)));
  }
  auto seg = std::unique_ptr<CaptureSegment>(new CaptureSegment(static_cast<uint8_t*>(p), -1));
  CaptureSegmentHeader h;
  std::memcpy(&h, p, sizeof(h));  // one copy, checked
  if (h.magic != kCaptureMagic || h.version != kCaptureVersion) {
    return absl::InvalidArgumentError(absl::StrCat("capture segment magic ", h.magic, " version ",
                                                   h.version, ", want version ", kCaptureVersion));
  }
  if (h.size != kCaptureSegmentSize || h.slots != kCaptureSlots ||
      h.slot_size != kCaptureSlotSize || h.slot_offset != kCaptureSlotOffset ||
      h.program_offset != kCaptureProgramOffset || h.ring_offset != kCaptureRingOffset ||
      h.ring_bytes != kCaptureRingBytes || h.max_insns != kCaptureMaxInsns ||
      h.record_size != sizeof(CaptureRecord)) {
    return absl::InvalidArgumentError("capture segment header does not match this build's layout");
  }
  return seg;
}

CaptureSegment::~CaptureSegment() {
  munmap(base_, kCaptureSegmentSize);
  if (fd_ >= 0) close(fd_);
}

void CaptureSegment::ResetSlot(uint32_t index) {
  CaptureSlotHeader* s = slot(index);
  s->snaplen = 0;
  s->program_len = 0;
  s->head.value.store(0);
  s->tail.value.store(0);
  s->matched.store(0);
  s->dropped.store(0);
  s->bound_port.store(0);
  s->wake.store(0);
}

absl::Status CaptureSegment::Release(uint32_t index) {
  if (fd_ < 0) return absl::FailedPreconditionError("only the segment's creator releases slots");
  off_t offset =
      kCaptureSlotOffset + static_cast<off_t>(index) * kCaptureSlotSize + kCaptureProgramOffset;
  if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset,
                kCaptureSlotSize - kCaptureProgramOffset) != 0) {
    return absl::InternalError(
        absl::StrCat("fallocate PUNCH_HOLE capture slot ", index, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> CaptureSegment::ResidentBytes() const {
  struct stat st;
  if (fd_ < 0 || fstat(fd_, &st) != 0) {
    return absl::FailedPreconditionError("capture segment: no fd to stat");
  }
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

}  // namespace clownix::switchcore::ctl
