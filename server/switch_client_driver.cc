#include "server/switch_client_driver.h"

#include <cmath>

namespace clownix::server {

namespace ctl = switchcore::ctl;

ctl::Impairment SwitchClientDriver::ToSwitch(const clownix::v1::Impairment& in) {
  auto ppm = [](double percent) { return static_cast<uint32_t>(std::lround(percent * 10000)); };
  ctl::Impairment out{};
  out.delay_us = in.delay_us();
  out.jitter_us = in.jitter_us();
  out.loss_ppm = ppm(in.loss_percent());
  out.duplicate_ppm = ppm(in.duplicate_percent());
  out.corrupt_ppm = ppm(in.corrupt_percent());
  out.reorder_ppm = ppm(in.reorder_percent());
  out.rate_bps = in.rate_kbps() * 1000;
  return out;
}

absl::Status SwitchClientDriver::CreateLan(const std::string& lan, clownix::v1::LanMode mode) {
  return client_->CreateLan(
      lan, mode == clownix::v1::LAN_MODE_HUB ? ctl::LanMode::kHub : ctl::LanMode::kSwitch);
}

absl::Status SwitchClientDriver::DeleteLan(const std::string& lan) {
  return client_->DeleteLan(lan);
}

absl::StatusOr<uint64_t> SwitchClientDriver::AttachTap(const std::string& lan,
                                                       const std::string& tap) {
  return client_->AttachTap(lan, tap);
}

absl::Status SwitchClientDriver::DetachTap(uint64_t port_id) { return client_->DetachTap(port_id); }

absl::Status SwitchClientDriver::SetImpairment(uint64_t port_id,
                                               const clownix::v1::Impairment& to_lan,
                                               const clownix::v1::Impairment& from_lan) {
  if (absl::Status s = client_->SetImpairment(port_id, ctl::Direction::kIngress, ToSwitch(to_lan));
      !s.ok()) {
    return s;
  }
  return client_->SetImpairment(port_id, ctl::Direction::kEgress, ToSwitch(from_lan));
}

absl::StatusOr<uint64_t> SwitchClientDriver::RestorePort(const Port& port) {
  return client_->RestorePort(port);
}

std::string SwitchClientDriver::ControlPath(const std::string& lan) const {
  return client_->ControlPath(lan);
}

std::vector<SwitchDriver::Port> SwitchClientDriver::Ports() const { return client_->Ports(); }

absl::StatusOr<SwitchDriver::Counters> SwitchClientDriver::ReadCounters(uint64_t port_id) const {
  return client_->ReadCounters(port_id);
}

absl::StatusOr<std::unique_ptr<switchcore::CaptureSession>> SwitchClientDriver::StartCapture(
    const switchcore::CaptureSpec& spec) {
  return client_->StartCapture(spec);
}

}  // namespace clownix::server
