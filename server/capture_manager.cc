#include "server/capture_manager.h"

#include <cstdio>
#include <set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/seed_rules.h"
#include "server/bpf_filter_compiler.h"

namespace clownix::server {

// Every field is guarded by Registry::mu (a struct of its own cannot name that lock).
struct CaptureManager::Watched {
  std::optional<EndpointRef> endpoint;  // none: a whole LAN
  std::string lan;                      // the LAN; for an endpoint, once resolved
  bool resolved = false;
  uint64_t resolved_revision = 0;
  absl::Status end;  // why the target is gone
  uint64_t end_revision = 0;
};

struct CaptureManager::Registry {
  absl::Mutex mu;
  std::set<std::shared_ptr<Watched>> watched ABSL_GUARDED_BY(mu);
  bool shut_down ABSL_GUARDED_BY(mu) = false;
};

namespace {

using Watched = CaptureManager::Watched;
using Registry = CaptureManager::Registry;

constexpr uint32_t kMaxSnaplen = 65535;

// The name of an endpoint as a capture interface: "vm1.eth1", "tap0".
std::string InterfaceName(const EndpointRef& endpoint) {
  return endpoint.is_tap() ? endpoint.tap() : absl::StrCat(endpoint.vm(), ".eth", endpoint.index());
}

// Why `event` ends a capture of `w`, or OK. A deleted VM or tap says more than the deletion of its
// link that comes with it.
absl::Status Ends(const Watched& w, const clownix::v1::Event& event) {
  absl::Status link_status = absl::OkStatus();
  for (const clownix::v1::Change& change : event.changes()) {
    const bool deleted = change.type() == clownix::v1::Change::DELETED;
    if (change.has_lan() && deleted && !w.lan.empty() && change.lan().name() == w.lan) {
      return absl::NotFoundError(absl::StrCat("lan \"", w.lan, "\" was deleted"));
    }
    if (!w.endpoint) continue;
    const EndpointRef& endpoint = *w.endpoint;
    if (change.has_vm() && deleted && !endpoint.is_tap() && change.vm().name() == endpoint.vm()) {
      return absl::AbortedError(absl::StrCat("vm \"", endpoint.vm(), "\" was deleted"));
    }
    if (change.has_tap() && deleted && endpoint.is_tap() && change.tap().name() == endpoint.tap()) {
      return absl::AbortedError(absl::StrCat("tap \"", endpoint.tap(), "\" was deleted"));
    }
    if (!link_status.ok() || !change.has_link() ||
        EndpointKey(change.link().endpoint()) != endpoint.StoreKey()) {
      continue;
    }
    if (deleted) {
      link_status = absl::AbortedError(absl::StrCat(
          endpoint.StoreKey(), " was disconnected from lan \"", change.link().lan(), "\""));
    } else if (w.resolved && change.link().lan() != w.lan) {
      link_status = absl::AbortedError(
          absl::StrCat(endpoint.StoreKey(), " was moved to lan \"", change.link().lan(), "\""));
    }
  }
  return link_status;
}

class ManagedCapture final : public SwitchBackend::Capture {
 public:
  ManagedCapture(std::shared_ptr<Registry> registry, std::shared_ptr<Watched> watched,
                 std::unique_ptr<switchcore::CaptureSession> session, SwitchDriver* sw,
                 CaptureManager::PortIdentifier identify)
      : registry_(std::move(registry)),
        watched_(std::move(watched)),
        session_(std::move(session)),
        sw_(sw),
        identify_(std::move(identify)) {}

  ~ManagedCapture() override {
    session_.reset();
    absl::MutexLock lock(&registry_->mu);
    registry_->watched.erase(watched_);
  }

  switchcore::CaptureSession& session() override { return *session_; }
  bool whole_lan() const override { return !watched_->endpoint; }

  std::string PortName(uint64_t port_id) override {
    if (watched_->endpoint) return InterfaceName(*watched_->endpoint);  // constant once made
    {
      absl::MutexLock lock(&registry_->mu);
      // The switch driver may be gone with the runtime.
      if (registry_->shut_down) return absl::StrCat("port ", port_id);
    }
    for (const SwitchDriver::Port& port : sw_->Ports()) {
      if (port.port_id != port_id) continue;
      if (port.kind == switchcore::ctl::PortKind::kTap) return port.tap_name;
      if (std::optional<EndpointRef> endpoint = identify_(port)) return InterfaceName(*endpoint);
    }
    return absl::StrCat("port ", port_id);
  }

  absl::Status TopologyStatus() const override {
    absl::MutexLock lock(&registry_->mu);
    if (!watched_->end.ok()) return watched_->end;
    if (registry_->shut_down) return absl::UnavailableError("clownixd is stopping");
    return absl::OkStatus();
  }

 private:
  const std::shared_ptr<Registry> registry_;
  const std::shared_ptr<Watched> watched_;
  std::unique_ptr<switchcore::CaptureSession> session_;
  SwitchDriver* const sw_;
  const CaptureManager::PortIdentifier identify_;
};

// Checks what needs no topology; the snaplen to use.
absl::StatusOr<uint32_t> CheckRequest(const clownix::v1::CaptureRequest& request) {
  const uint32_t snaplen = request.snaplen() ? request.snaplen() : kMaxSnaplen;
  if (snaplen > kMaxSnaplen) {
    return absl::InvalidArgumentError(
        absl::StrCat("snaplen ", request.snaplen(), " is out of range 1..", kMaxSnaplen));
  }
  switch (request.target_case()) {
    case clownix::v1::CaptureRequest::kLan:
      if (request.format() == clownix::v1::CAPTURE_FORMAT_PCAP) {
        return absl::InvalidArgumentError(
            "classic pcap cannot say which port a frame came from: capture a whole LAN as pcapng");
      }
      if (absl::Status s = common::ValidateName("lan", request.lan()); !s.ok()) return s;
      break;
    case clownix::v1::CaptureRequest::kEndpoint: {
      const clownix::v1::Endpoint& endpoint = request.endpoint();
      if (endpoint.has_nic()) {
        if (absl::Status s = common::ValidateName("vm", endpoint.nic().vm()); !s.ok()) return s;
        if (endpoint.nic().index() >= static_cast<uint32_t>(common::kMaxNics)) {
          return common::ValidateNicIndex(common::kMaxNics);
        }
      } else if (endpoint.kind_case() == clownix::v1::Endpoint::kTap) {
        if (absl::Status s = common::ValidateTapName(endpoint.tap()); !s.ok()) return s;
      } else {
        return absl::InvalidArgumentError("the endpoint names neither a nic nor a tap");
      }
      break;
    }
    case clownix::v1::CaptureRequest::TARGET_NOT_SET:
      return absl::InvalidArgumentError(
          "the request names nothing to capture: an endpoint or a lan");
  }
  return snaplen;
}

// The LAN of `endpoint` in `topology` (the admin LAN for eth0), and for a NIC its seed MAC.
absl::Status ResolveEndpoint(const TopologyState& topology, const EndpointRef& endpoint,
                             std::string* lan, std::optional<std::array<uint8_t, 6>>* mac) {
  if (endpoint.is_tap()) {
    if (!topology.FindTap(endpoint.tap())) {
      return absl::NotFoundError(absl::StrCat("tap \"", endpoint.tap(), "\" does not exist"));
    }
  } else {
    const clownix::v1::Vm* vm = topology.FindVm(endpoint.vm());
    if (!vm) return absl::NotFoundError(absl::StrCat("vm \"", endpoint.vm(), "\" does not exist"));
    if (endpoint.index() >= static_cast<int>(vm->nic_count())) {
      return absl::NotFoundError(absl::StrCat("vm \"", endpoint.vm(), "\" has no eth",
                                              endpoint.index(), " (it has ", vm->nic_count(),
                                              " NICs, eth0..eth", vm->nic_count() - 1, ")"));
    }
    // The one in use: the seed's or the one the VM chose (Vm.nic_macs).
    const std::string& text = vm->nics(endpoint.index()).mac();
    std::array<unsigned int, 6> bytes;
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &bytes[0], &bytes[1], &bytes[2], &bytes[3],
                    &bytes[4], &bytes[5]) != 6) {
      return absl::InternalError(absl::StrCat("unreadable MAC ", text));
    }
    mac->emplace();
    for (int i = 0; i < 6; ++i) (**mac)[i] = static_cast<uint8_t>(bytes[i]);
    if (endpoint.index() == 0 && vm->admin()) {
      *lan = kAdminLan;
      return absl::OkStatus();
    }
  }
  const clownix::v1::Link* link = topology.FindLink(endpoint.StoreKey());
  if (!link) {
    return absl::FailedPreconditionError(
        absl::StrCat(endpoint.StoreKey(), " is not connected to a LAN"));
  }
  *lan = link->lan();
  return absl::OkStatus();
}

}  // namespace

CaptureManager::CaptureManager(TopologyStore* store, SwitchDriver* sw, PortIdentifier identify)
    : store_(store),
      sw_(sw),
      identify_(std::move(identify)),
      registry_(std::make_shared<Registry>()) {
  // From now on, every event; those before are in what each Start reads from the store.
  store_->hub().Subscribe(this, 0);
}

CaptureManager::~CaptureManager() { Shutdown(); }

void CaptureManager::Shutdown() {
  {
    absl::MutexLock lock(&registry_->mu);
    if (registry_->shut_down) return;
    registry_->shut_down = true;
  }
  store_->hub().Unsubscribe(this);
}

void CaptureManager::OnHubShutdown() {
  absl::MutexLock lock(&registry_->mu);
  registry_->shut_down = true;
}

void CaptureManager::OnEvents(const std::vector<EventPtr>& events) {
  absl::MutexLock lock(&registry_->mu);
  for (const std::shared_ptr<Watched>& w : registry_->watched) {
    for (const EventPtr& event : events) {
      if (!w->end.ok()) break;
      if (w->resolved && event->revision() <= w->resolved_revision) continue;
      if (absl::Status end = Ends(*w, *event); !end.ok()) {
        w->end = end;
        w->end_revision = event->revision();
      }
    }
  }
}

absl::StatusOr<std::unique_ptr<SwitchBackend::Capture>> CaptureManager::Start(
    const clownix::v1::CaptureRequest& request) {
  absl::StatusOr<uint32_t> snaplen = CheckRequest(request);
  if (!snaplen.ok()) return snaplen.status();
  absl::StatusOr<std::vector<sock_filter>> program =
      CompileCaptureFilter(request.filter(), *snaplen);
  if (!program.ok()) return program.status();

  auto watched = std::make_shared<Watched>();
  if (request.has_endpoint()) {
    watched->endpoint = EndpointRef::FromProto(request.endpoint());
  } else {
    watched->lan = request.lan();
  }
  {
    absl::MutexLock lock(&registry_->mu);
    if (registry_->shut_down) return absl::UnavailableError("clownixd is stopping");
    registry_->watched.insert(watched);
  }
  bool started = false;
  absl::Cleanup unregister = [&] {
    if (started) return;
    absl::MutexLock lock(&registry_->mu);
    registry_->watched.erase(watched);
  };

  // The target in the topology, after registering: what changes from here on is seen.
  absl::Status status = absl::OkStatus();
  std::string lan;
  std::optional<std::array<uint8_t, 6>> mac;
  uint64_t revision = 0;
  store_->Read([&](const TopologyState& topology) {
    revision = topology.revision();
    if (watched->endpoint) {
      status = ResolveEndpoint(topology, *watched->endpoint, &lan, &mac);
    } else {
      lan = request.lan();
      if (!topology.FindLan(lan)) {
        status = absl::NotFoundError(absl::StrCat("lan \"", lan, "\" does not exist"));
      }
    }
  });
  if (!status.ok()) return status;
  {
    absl::MutexLock lock(&registry_->mu);
    watched->lan = lan;
    watched->resolved = true;
    watched->resolved_revision = revision;
    if (!watched->end.ok() && watched->end_revision <= revision) watched->end = absl::OkStatus();
  }

  // The target in the switch: the endpoint's port when it is up.
  switchcore::CaptureSpec spec;
  spec.lan = lan;
  spec.snaplen = *snaplen;
  spec.program = *std::move(program);
  if (watched->endpoint) {
    const EndpointRef& endpoint = *watched->endpoint;
    for (const SwitchDriver::Port& port : sw_->Ports()) {
      if (port.lan != lan) continue;
      bool match =
          endpoint.is_tap()
              ? port.kind == switchcore::ctl::PortKind::kTap && port.tap_name == endpoint.tap()
              : port.kind == switchcore::ctl::PortKind::kVm && identify_(port) == endpoint;
      if (match) spec.port_id = port.port_id;
    }
    if (spec.port_id == 0) {
      if (endpoint.is_tap()) {
        return absl::UnavailableError(absl::StrCat(
            "tap \"", endpoint.tap(), "\" is not attached to the switch yet: try again"));
      }
      spec.mac = mac;  // not up yet: the port that first sends from its MAC
    }
  }
  absl::StatusOr<std::unique_ptr<switchcore::CaptureSession>> session = sw_->StartCapture(spec);
  if (!session.ok() && session.status().code() == absl::StatusCode::kNotFound &&
      spec.port_id != 0 && !watched->endpoint->is_tap()) {
    // The NIC's port went down since Ports(): wait for it to come back, by its MAC.
    spec.port_id = 0;
    spec.mac = mac;
    session = sw_->StartCapture(spec);
  }
  if (!session.ok()) return session.status();
  started = true;
  return std::unique_ptr<SwitchBackend::Capture>(
      new ManagedCapture(registry_, watched, *std::move(session), sw_, identify_));
}

}  // namespace clownix::server
