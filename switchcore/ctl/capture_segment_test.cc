#include "switchcore/ctl/capture_segment.h"

#include <cstring>

#include "gtest/gtest.h"

namespace clownix::switchcore::ctl {
namespace {

TEST(CaptureSegmentTest, AttachChecksTheHeader) {
  auto seg = CaptureSegment::Create();
  ASSERT_TRUE(seg.ok()) << seg.status();
  auto attached = CaptureSegment::Attach((*seg)->fd());
  ASSERT_TRUE(attached.ok()) << attached.status();
  // A scribbled header is refused.
  uint32_t* magic =
      reinterpret_cast<uint32_t*>(reinterpret_cast<uint8_t*>((*seg)->slot(0)) - kCaptureSlotOffset);
  *magic = 0;
  EXPECT_EQ(CaptureSegment::Attach((*seg)->fd()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CaptureSegment::Attach(-1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CaptureSegmentTest, IsSparseAndReleaseGivesMemoryBack) {
  auto seg = CaptureSegment::Create();
  ASSERT_TRUE(seg.ok());
  absl::StatusOr<uint64_t> before = (*seg)->ResidentBytes();
  ASSERT_TRUE(before.ok());
  EXPECT_LT(*before, 64u * 1024);  // the header pages only, not 16 rings of 4 MiB
  std::memset((*seg)->ring(3), 0xab, kCaptureRingBytes);
  absl::StatusOr<uint64_t> touched = (*seg)->ResidentBytes();
  ASSERT_TRUE(touched.ok());
  EXPECT_GE(*touched, *before + kCaptureRingBytes);
  ASSERT_TRUE((*seg)->Release(3).ok());
  absl::StatusOr<uint64_t> after = (*seg)->ResidentBytes();
  ASSERT_TRUE(after.ok());
  EXPECT_LT(*after, *before + 64u * 1024);
  EXPECT_EQ((*seg)->ring(3)[100], 0);  // punched pages read as zeros
}

}  // namespace
}  // namespace clownix::switchcore::ctl
