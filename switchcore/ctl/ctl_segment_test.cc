#include "switchcore/ctl/ctl_segment.h"

#include <sys/mman.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace clownix::switchcore::ctl {
namespace {

TEST(CtlSegmentTest, CreateThenAttachSeesTheSameMemory) {
  auto seg = CtlSegment::Create();
  ASSERT_TRUE(seg.ok()) << seg.status();
  auto other = CtlSegment::Attach((*seg)->fd());
  ASSERT_TRUE(other.ok()) << other.status();
  (*seg)->counters(3)->rx_frames.store(42);
  EXPECT_EQ((*other)->counters(3)->rx_frames.load(), 42u);
}

TEST(CtlSegmentTest, AttachRejectsWrongSizeMagicVersionLayout) {
  int fd = memfd_create("t", MFD_CLOEXEC);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  EXPECT_EQ(CtlSegment::Attach(fd).status().code(), absl::StatusCode::kInvalidArgument);
  close(fd);
  EXPECT_FALSE(CtlSegment::Attach(-1).ok());

  auto seg = CtlSegment::Create();
  ASSERT_TRUE(seg.ok());
  SegmentHeader* h = (*seg)->header();
  h->magic = 1;
  EXPECT_FALSE(CtlSegment::Attach((*seg)->fd()).ok());
  h->magic = kCtlMagic;
  h->version = kCtlVersion + 1;
  EXPECT_FALSE(CtlSegment::Attach((*seg)->fd()).ok());
  h->version = kCtlVersion;
  h->event_slots = 7;
  EXPECT_FALSE(CtlSegment::Attach((*seg)->fd()).ok());
  h->event_slots = kEventSlots;
  EXPECT_TRUE(CtlSegment::Attach((*seg)->fd()).ok());
}

TEST(CtlSegmentTest, ResetRingsKeepsCounters) {
  auto seg = CtlSegment::Create();
  ASSERT_TRUE(seg.ok());
  (*seg)->header()->request_head.value = 9;
  (*seg)->counters(0)->tx_bytes = 5;
  (*seg)->ResetRings();
  EXPECT_EQ((*seg)->header()->request_head.value.load(), 0u);
  EXPECT_EQ((*seg)->counters(0)->tx_bytes.load(), 5u);
}

}  // namespace
}  // namespace clownix::switchcore::ctl
