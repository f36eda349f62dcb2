#include "server/switch_client_driver.h"

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

TEST(SwitchClientDriver, ImpairmentsInTheSwitchsUnits) {
  clownix::v1::Impairment in;
  in.set_delay_us(20000);
  in.set_jitter_us(500);
  in.set_loss_percent(1.5);
  in.set_duplicate_percent(0.0001);
  in.set_corrupt_percent(100);
  in.set_reorder_percent(33.33333);
  in.set_rate_kbps(256);
  switchcore::ctl::Impairment out = SwitchClientDriver::ToSwitch(in);
  EXPECT_EQ(out.delay_us, 20000u);
  EXPECT_EQ(out.jitter_us, 500u);
  EXPECT_EQ(out.loss_ppm, 15000u);
  EXPECT_EQ(out.duplicate_ppm, 1u);
  EXPECT_EQ(out.corrupt_ppm, 1000000u);
  EXPECT_EQ(out.reorder_ppm, 333333u);
  EXPECT_EQ(out.rate_bps, 256000u);
}

TEST(SwitchClientDriver, NoImpairmentIsAllZero) {
  switchcore::ctl::Impairment out = SwitchClientDriver::ToSwitch(clownix::v1::Impairment());
  EXPECT_EQ(out.delay_us, 0u);
  EXPECT_EQ(out.loss_ppm, 0u);
  EXPECT_EQ(out.rate_bps, 0u);
}

}  // namespace
}  // namespace clownix::server
