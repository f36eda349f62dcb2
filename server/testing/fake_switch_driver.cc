#include "server/testing/fake_switch_driver.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace clownix::server::testing {

using switchcore::ctl::PortKind;

absl::Status FakeSwitchDriver::CreateLan(const std::string& lan, clownix::v1::LanMode mode) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = script_.Take("create_lan", lan); !s.ok()) return s;
  if (!state_.lans.emplace(lan, mode).second) {
    return absl::AlreadyExistsError(absl::StrCat("lan \"", lan, "\" exists"));
  }
  return absl::OkStatus();
}

absl::Status FakeSwitchDriver::DeleteLan(const std::string& lan) {
  absl::MutexLock lock(&mu_);
  if (state_.lans.erase(lan) == 0) {
    return absl::NotFoundError(absl::StrCat("lan \"", lan, "\" does not exist"));
  }
  for (const std::shared_ptr<FakeCapture>& capture : captures_) {
    if (capture->spec().lan == lan) {
      capture->End(absl::NotFoundError(absl::StrCat("lan \"", lan, "\" was deleted")));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FakeSwitchDriver::AttachTap(const std::string& lan,
                                                     const std::string& tap) {
  PortEvent event;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = script_.Take("attach_tap", tap); !s.ok()) return s;
    if (!state_.lans.count(lan)) {
      return absl::NotFoundError(absl::StrCat("lan \"", lan, "\" does not exist"));
    }
    for (const auto& [id, port] : state_.ports) {
      if (port.kind == PortKind::kTap && port.tap_name == tap) {
        return absl::AlreadyExistsError(absl::StrCat("tap \"", tap, "\" is attached"));
      }
    }
    Port port;
    port.port_id = next_port_id_++;
    port.lan = lan;
    port.kind = PortKind::kTap;
    port.tap_name = tap;
    state_.ports[port.port_id] = port;
    event = PortEvent{true, port, ""};
  }
  Deliver({event});
  return event.port.port_id;
}

absl::Status FakeSwitchDriver::DetachTap(uint64_t port_id) {
  PortEvent event;
  {
    absl::MutexLock lock(&mu_);
    auto it = state_.ports.find(port_id);
    if (it == state_.ports.end() || it->second.kind != PortKind::kTap) {
      return absl::NotFoundError(absl::StrCat("tap port ", port_id, " does not exist"));
    }
    event = PortEvent{false, it->second, "tap detached"};
    state_.ports.erase(it);
    state_.impairments.erase(port_id);
  }
  Deliver({event});
  return absl::OkStatus();
}

absl::Status FakeSwitchDriver::SetImpairment(uint64_t port_id,
                                             const clownix::v1::Impairment& to_lan,
                                             const clownix::v1::Impairment& from_lan) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = script_.Take("set_impairment", ""); !s.ok()) return s;
  if (!state_.ports.count(port_id)) {
    return absl::NotFoundError(absl::StrCat("port ", port_id, " does not exist"));
  }
  state_.impairments[port_id] = {to_lan, from_lan};
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FakeSwitchDriver::RestorePort(const Port& port) {
  absl::MutexLock lock(&mu_);
  if (!state_.lans.count(port.lan)) {
    return absl::NotFoundError(absl::StrCat("lan \"", port.lan, "\" does not exist"));
  }
  if (state_.ports.count(port.port_id)) {
    return absl::AlreadyExistsError(absl::StrCat("port ", port.port_id, " exists"));
  }
  state_.ports[port.port_id] = port;
  next_port_id_ = std::max(next_port_id_, port.port_id + 1);
  return port.port_id;
}

std::string FakeSwitchDriver::ControlPath(const std::string& lan) const {
  return absl::StrCat("/fake/lans/", lan, "/ctl");
}

std::vector<SwitchDriver::Port> FakeSwitchDriver::Ports() const {
  absl::MutexLock lock(&mu_);
  std::vector<Port> ports;
  for (const auto& [id, port] : state_.ports) ports.push_back(port);
  return ports;
}

absl::StatusOr<SwitchDriver::Counters> FakeSwitchDriver::ReadCounters(uint64_t port_id) const {
  absl::MutexLock lock(&mu_);
  if (!state_.ports.count(port_id)) {
    return absl::NotFoundError(absl::StrCat("port ", port_id, " does not exist"));
  }
  return Counters{};
}

absl::StatusOr<std::unique_ptr<switchcore::CaptureSession>> FakeSwitchDriver::StartCapture(
    const switchcore::CaptureSpec& spec) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = script_.Take("start_capture", ""); !s.ok()) return s;
  if (!state_.lans.count(spec.lan)) {
    return absl::NotFoundError(absl::StrCat("lan \"", spec.lan, "\" does not exist"));
  }
  if (spec.port_id != 0) {
    auto it = state_.ports.find(spec.port_id);
    if (it == state_.ports.end() || it->second.lan != spec.lan) {
      return absl::NotFoundError(
          absl::StrCat("port ", spec.port_id, " is not on lan \"", spec.lan, "\""));
    }
  }
  auto capture = std::make_shared<FakeCapture>(spec);
  if (spec.port_id != 0) capture->Bind(spec.port_id);
  captures_.push_back(capture);
  return capture->NewSession();
}

void FakeSwitchDriver::FailStartCapture(absl::Status status, int times) {
  absl::MutexLock lock(&mu_);
  script_.Set("start_capture", "", std::move(status), times);
}

std::vector<std::shared_ptr<FakeCapture>> FakeSwitchDriver::captures() const {
  absl::MutexLock lock(&mu_);
  return captures_;
}

void FakeSwitchDriver::FailCreateLan(const std::string& lan, absl::Status status, int times) {
  absl::MutexLock lock(&mu_);
  script_.Set("create_lan", lan, std::move(status), times);
}
void FakeSwitchDriver::FailAttachTap(const std::string& tap, absl::Status status, int times) {
  absl::MutexLock lock(&mu_);
  script_.Set("attach_tap", tap, std::move(status), times);
}
void FakeSwitchDriver::FailSetImpairment(absl::Status status, int times) {
  absl::MutexLock lock(&mu_);
  script_.Set("set_impairment", "", std::move(status), times);
}

uint64_t FakeSwitchDriver::ConnectVm(const std::string& lan, const switchcore::DataAddress& address,
                                     std::optional<std::array<uint8_t, 6>> mac) {
  PortEvent event;
  {
    absl::MutexLock lock(&mu_);
    Port port;
    port.port_id = next_port_id_++;
    port.lan = lan;
    port.kind = PortKind::kVm;
    port.vm_address = address;
    if (mac) {
      port.mac_known = true;
      port.mac = *mac;
    }
    state_.ports[port.port_id] = port;
    event = PortEvent{true, port, ""};
  }
  Deliver({event});
  return event.port.port_id;
}

void FakeSwitchDriver::LearnMac(uint64_t port_id, const std::array<uint8_t, 6>& mac) {
  PortEvent event;
  {
    absl::MutexLock lock(&mu_);
    auto it = state_.ports.find(port_id);
    if (it == state_.ports.end()) return;
    it->second.mac_known = true;
    it->second.mac = mac;
    event = PortEvent{true, it->second, ""};
  }
  Deliver({event});
}

void FakeSwitchDriver::RemovePort(uint64_t port_id, const std::string& reason) {
  PortEvent event;
  {
    absl::MutexLock lock(&mu_);
    auto it = state_.ports.find(port_id);
    if (it == state_.ports.end()) return;
    event = PortEvent{false, it->second, reason};
    state_.ports.erase(it);
    state_.impairments.erase(port_id);
    for (const std::shared_ptr<FakeCapture>& capture : captures_) {
      if (capture->bound_port() == port_id) {
        capture->End(absl::AbortedError(absl::StrCat("port down: ", reason)));
      }
    }
  }
  Deliver({event});
}

void FakeSwitchDriver::Restart() {
  std::vector<PortEvent> events;
  {
    absl::MutexLock lock(&mu_);
    std::map<uint64_t, Port> before;
    std::swap(before, state_.ports);
    state_.impairments.clear();
    for (const std::shared_ptr<FakeCapture>& capture : captures_) {
      capture->End(absl::UnavailableError("the switch restarted"));
    }
    for (const auto& [id, port] : before) {
      events.push_back(PortEvent{false, port, "switch restarted"});
      Port again = port;
      again.port_id = next_port_id_++;
      state_.ports[again.port_id] = again;
      events.push_back(PortEvent{true, again, ""});
    }
  }
  Deliver(events);
}

int FakeSwitchDriver::create_lan_calls(const std::string& lan) const {
  absl::MutexLock lock(&mu_);
  return script_.Calls("create_lan", lan);
}

int FakeSwitchDriver::set_impairment_calls() const {
  absl::MutexLock lock(&mu_);
  return script_.Calls("set_impairment", "");
}

FakeSwitchDriver::State FakeSwitchDriver::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

std::optional<SwitchDriver::Port> FakeSwitchDriver::TapPort(const std::string& tap) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, port] : state_.ports) {
    if (port.kind == PortKind::kTap && port.tap_name == tap) return port;
  }
  return std::nullopt;
}

bool FakeSwitchDriver::WaitUntil(const std::function<bool(const State&)>& condition,
                                 absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto holds = [this, &condition]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return condition(state_); };
  return mu_.AwaitWithTimeout(absl::Condition(&holds), timeout);
}

void FakeSwitchDriver::Deliver(const std::vector<PortEvent>& events) {
  for (const PortEvent& event : events) on_event_(event);
}

}  // namespace clownix::server::testing
