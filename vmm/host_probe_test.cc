#include "vmm/host_probe.h"

#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

TEST(HostProbeTest, MeasuresTheRegset) {
  absl::StatusOr<size_t> bytes = HostProbe::XstateRegsetBytes();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  // Legacy area (512) + XSAVE header (64) at least, and a multiple of 8.
  EXPECT_GE(*bytes, 576u);
  EXPECT_EQ(*bytes % 8, 0u);
  absl::StatusOr<bool> needs = HostProbe::NeedsXstateFix();
  ASSERT_TRUE(needs.ok());
  EXPECT_EQ(*needs, *bytes > HostProbe::kUmlXstateBytes);
}

}  // namespace
}  // namespace clownix::vmm
