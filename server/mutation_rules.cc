#include "server/mutation_rules.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/seed_rules.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/guest_config_proto.h"
#include "server/log.h"
#include "server/names.h"

namespace clownix::server {
namespace {

using clownix::v1::Change;
using clownix::v1::Endpoint;
using clownix::v1::Impairment;
using clownix::v1::Lan;
using clownix::v1::Link;
using clownix::v1::Tap;
using clownix::v1::Vm;
using clownix::v1::VmState;
using Changes = std::vector<Change>;

std::string Quote(const std::string& name) {
  return absl::StrCat("\"", absl::CHexEscape(name), "\"");
}

Change Make(Change::Type type, const Vm& vm) {
  Change c;
  c.set_type(type);
  *c.mutable_vm() = vm;
  return c;
}
Change Make(Change::Type type, const Lan& lan) {
  Change c;
  c.set_type(type);
  *c.mutable_lan() = lan;
  return c;
}
Change Make(Change::Type type, const Tap& tap) {
  Change c;
  c.set_type(type);
  *c.mutable_tap() = tap;
  return c;
}
Change Make(Change::Type type, const Link& link) {
  Change c;
  c.set_type(type);
  *c.mutable_link() = link;
  return c;
}

absl::StatusOr<const Vm*> LookupVm(const TopologyState& state, const std::string& name) {
  if (absl::Status s = common::ValidateName("vm", name); !s.ok()) return s;
  const Vm* vm = state.FindVm(name);
  if (!vm) return absl::NotFoundError(absl::StrCat("vm ", Quote(name), " does not exist"));
  return vm;
}

absl::StatusOr<const Lan*> LookupLan(const TopologyState& state, const std::string& name) {
  if (absl::Status s = common::ValidateName("lan", name); !s.ok()) return s;
  const Lan* lan = state.FindLan(name);
  if (!lan) return absl::NotFoundError(absl::StrCat("lan ", Quote(name), " does not exist"));
  return lan;
}

absl::StatusOr<const Tap*> LookupTap(const TopologyState& state, const std::string& name) {
  if (absl::Status s = common::ValidateTapName(name); !s.ok()) return s;
  const Tap* tap = state.FindTap(name);
  if (!tap) return absl::NotFoundError(absl::StrCat("tap ", Quote(name), " does not exist"));
  return tap;
}

// Checks that the endpoint exists and may be linked; eth0 belongs to the admin LAN.
absl::Status CheckEndpoint(const TopologyState& state, const Endpoint& endpoint) {
  switch (endpoint.kind_case()) {
    case Endpoint::kNic: {
      absl::StatusOr<const Vm*> vm = LookupVm(state, endpoint.nic().vm());
      if (!vm.ok()) return vm.status();
      uint32_t index = endpoint.nic().index();
      if (index == 0 && (*vm)->admin()) {
        return absl::InvalidArgumentError(
            absl::StrCat("vm ", Quote(endpoint.nic().vm()),
                         ": eth0 is the admin NIC and cannot be relinked (a VM without the admin "
                         "network, admin: false, may link its eth0)"));
      }
      if (index >= (*vm)->nic_count()) {
        return absl::NotFoundError(absl::StrCat("vm ", Quote(endpoint.nic().vm()), " has no eth",
                                                index, ": it has ", (*vm)->nic_count(),
                                                " NICs (eth0-eth", (*vm)->nic_count() - 1, ")"));
      }
      return absl::OkStatus();
    }
    case Endpoint::kTap:
      return LookupTap(state, endpoint.tap()).status();
    case Endpoint::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("endpoint is empty: give a VM NIC or a tap");
}

// The VM or tap object of `endpoint` with its `lan` field set to `lan` (empty: detached).
Change EndpointOwnerUpdate(const TopologyState& state, const Endpoint& endpoint,
                           const std::string& lan, std::optional<bool> link_up) {
  if (endpoint.has_nic()) {
    Vm vm = *state.FindVm(endpoint.nic().vm());
    clownix::v1::Nic* nic = vm.mutable_nics(endpoint.nic().index());
    nic->set_lan(lan);
    if (lan.empty()) nic->set_link_up(false);
    if (link_up) nic->set_link_up(*link_up);
    return Make(Change::UPDATED, vm);
  }
  Tap tap = *state.FindTap(endpoint.tap());
  tap.set_lan(lan);
  return Make(Change::UPDATED, tap);
}

absl::Status CheckMemAndNics(const std::string& owner, uint32_t mem_mib, uint32_t nic_count) {
  if (absl::Status s = common::ValidateMemMib(owner, mem_mib); !s.ok()) return s;
  if (nic_count < 1 || nic_count > common::kMaxNics) {
    return absl::InvalidArgumentError(
        absl::StrCat(owner, ": nic_count ", nic_count, " is out of range 1..", common::kMaxNics));
  }
  return absl::OkStatus();
}

// A MAC or admin IP of a VM whose number and NIC count the rules above already checked.
std::string SeedValue(absl::StatusOr<std::string> value) {
  CLOWNIX_CHECK(value.ok(), value.status().ToString());
  return *std::move(value);
}

// Gives `vm` (number set) the admin network or not, and the admin IP that goes with it.
void SetAdmin(Vm& vm, bool admin, const RuleOptions& options) {
  vm.set_admin(admin);
  vm.clear_admin_ip();
  if (admin && options.admin_prefix) {
    vm.set_admin_ip(SeedValue(common::AdminIp(
        absl::StrCat(options.admin_prefix->first, ".", options.admin_prefix->second),
        static_cast<int>(vm.number()))));
  }
}

// The image of a VM being created or changed, or why it cannot have it; `owner` leads the message.
absl::StatusOr<clownix::v1::Image> LookupImage(const std::string& owner, const RuleOptions& options,
                                               const std::string& name) {
  absl::StatusOr<clownix::v1::Image> image = FindImage(options, name);
  if (!image.ok()) {
    return absl::Status(image.status().code(), absl::StrCat(owner, ": ", image.status().message()));
  }
  return image;
}

absl::Status CheckMinMem(const std::string& owner, uint32_t mem, const clownix::v1::Image& image) {
  if (mem >= image.min_mem_mib()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(owner, ": mem_mib ", mem, " is below the ",
                                                 image.min_mem_mib(), " MiB that image ",
                                                 Quote(image.name()), " needs (its min_mem_mib)"));
}

// Gives `vm`'s NICs the MACs `chosen` (Vm.nic_macs) and the seed's MAC where it chooses none.
// INVALID_ARGUMENT for a MAC that cannot be one (common::ParseChosenMac), a NIC the VM does not
// have, or a MAC another NIC of the topology (or of this VM) has.
absl::Status SetNicMacs(const TopologyState& state, const std::string& owner,
                        const google::protobuf::Map<uint32_t, std::string>& chosen, Vm& vm) {
  std::map<uint32_t, std::string> macs;  // index order: the first of two equal ones is named
  for (const auto& [index, text] : chosen) {
    std::string field = absl::StrCat(owner, ": nic_macs[", index, "]");
    if (index >= vm.nic_count()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": the VM has ", vm.nic_count(),
                                                     " NICs (eth0-eth", vm.nic_count() - 1, ")"));
    }
    absl::StatusOr<std::string> mac = common::ParseChosenMac(text);
    if (!mac.ok())
      return absl::InvalidArgumentError(absl::StrCat(field, ": ", mac.status().message()));
    macs[index] = *std::move(mac);
  }
  for (const auto& [index, mac] : macs) {
    for (const auto& [other_index, other] : macs) {
      if (other_index < index && other == mac) {
        return absl::InvalidArgumentError(absl::StrCat(owner, ": nic_macs[", index, "]: ", mac,
                                                       " is eth", other_index, "'s MAC too"));
      }
    }
    for (const auto& [name, other] : state.vms()) {
      if (name == vm.name()) continue;
      for (const clownix::v1::Nic& nic : other.nics()) {
        if (nic.mac() != mac) continue;
        return absl::InvalidArgumentError(absl::StrCat(owner, ": nic_macs[", index, "]: ", mac,
                                                       " is the MAC of vm ", Quote(name), "'s eth",
                                                       nic.index()));
      }
    }
  }
  vm.clear_nic_macs();
  for (const auto& [index, mac] : macs) (*vm.mutable_nic_macs())[index] = mac;
  for (clownix::v1::Nic& nic : *vm.mutable_nics()) {
    auto it = macs.find(nic.index());
    nic.set_mac(it != macs.end() ? it->second : SeedValue(common::VmMac(vm.number(), nic.index())));
  }
  return absl::OkStatus();
}

// The MACs as SetNicMacs keeps them (in lower case), to tell whether they change.
std::map<uint32_t, std::string> LowerCaseMacs(
    const google::protobuf::Map<uint32_t, std::string>& macs) {
  std::map<uint32_t, std::string> lower;
  for (const auto& [index, mac] : macs) lower[index] = absl::AsciiStrToLower(mac);
  return lower;
}

bool IsStopped(VmState state) {
  return state == clownix::v1::VM_STATE_DEFINED || state == clownix::v1::VM_STATE_STOPPED ||
         state == clownix::v1::VM_STATE_CRASHED;
}

absl::StatusOr<Changes> CreateVm(const TopologyState& state, const Vm& spec,
                                 const RuleOptions& options) {
  if (absl::Status s = common::ValidateName("vm", spec.name()); !s.ok()) return s;
  std::string owner = absl::StrCat("vm ", Quote(spec.name()));
  if (absl::Status s = ValidateLabels(owner, spec.labels()); !s.ok()) return s;
  absl::StatusOr<clownix::v1::Image> image =
      LookupImage(owner, options, spec.image().empty() ? options.default_image : spec.image());
  if (!image.ok()) return image.status();
  uint32_t mem = spec.mem_mib() ? spec.mem_mib() : image->default_mem_mib();
  uint32_t nics = spec.nic_count() ? spec.nic_count() : 1;
  if (absl::Status s = CheckMemAndNics(owner, mem, nics); !s.ok()) return s;
  if (absl::Status s = CheckMinMem(owner, mem, *image); !s.ok()) return s;
  if (state.FindVm(spec.name()))
    return absl::AlreadyExistsError(absl::StrCat(owner, " already exists"));
  uint32_t number = state.NextVmNumber();
  if (number > common::kMaxVmNumber) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot create ", owner, ": all ", common::kMaxVmNumber, " VM numbers are in use"));
  }
  Vm vm;
  vm.set_name(spec.name());
  vm.set_number(number);
  vm.set_mem_mib(mem);
  vm.set_nic_count(nics);
  *vm.mutable_labels() = spec.labels();
  vm.set_image(image->name());
  vm.set_state(clownix::v1::VM_STATE_DEFINED);
  SetAdmin(vm, spec.has_admin() ? spec.admin() : options.admin_default, options);
  *vm.mutable_guest() = spec.guest();
  if (absl::Status s = GuestConfigOf(vm).status(); !s.ok()) return s;
  vm.mutable_startup()->set_state(clownix::v1::StartupStatus::STATE_PENDING);
  for (uint32_t i = 0; i < nics; ++i) vm.add_nics()->set_index(i);
  if (absl::Status s = SetNicMacs(state, owner, spec.nic_macs(), vm); !s.ok()) return s;
  return Changes{Make(Change::CREATED, vm)};
}

absl::StatusOr<Changes> UpdateVm(const TopologyState& state, const Vm& spec,
                                 const RuleOptions& options) {
  absl::StatusOr<const Vm*> current = LookupVm(state, spec.name());
  if (!current.ok()) return current.status();
  std::string owner = absl::StrCat("vm ", Quote(spec.name()));
  if (absl::Status s = ValidateLabels(owner, spec.labels()); !s.ok()) return s;
  Vm vm = **current;
  // Empty: unchanged, like `admin` below.
  const std::string image_name = spec.image().empty() ? vm.image() : spec.image();
  const bool image_changes = image_name != vm.image();
  absl::StatusOr<clownix::v1::Image> image = LookupImage(owner, options, image_name);
  // The VM's own image may have gone since; that stops it from booting (at Start), not from
  // being relabeled. Its memory then stays as it is unless given.
  if (!image.ok() && image_changes) return image.status();
  uint32_t mem = spec.mem_mib() ? spec.mem_mib()
                 : image.ok()   ? image->default_mem_mib()
                                : vm.mem_mib();
  uint32_t nics = spec.nic_count() ? spec.nic_count() : 1;
  if (absl::Status s = CheckMemAndNics(owner, mem, nics); !s.ok()) return s;
  if (image.ok() && (image_changes || mem != vm.mem_mib())) {
    if (absl::Status s = CheckMinMem(owner, mem, *image); !s.ok()) return s;
  }
  // Absent: unchanged (a file that does not mention it must not flip it with the server's default).
  bool admin = spec.has_admin() ? spec.admin() : vm.admin();
  // Like labels, the MACs given are the whole of them.
  const bool macs_change = LowerCaseMacs(spec.nic_macs()) != LowerCaseMacs(vm.nic_macs());
  if ((mem != vm.mem_mib() || nics != vm.nic_count() || admin != vm.admin() || image_changes ||
       macs_change) &&
      !IsStopped(vm.state())) {
    return absl::FailedPreconditionError(
        absl::StrCat(owner, " is ", VmState_Name(vm.state()),
                     ": stop it before changing mem_mib, nic_count, admin, image or nic_macs"));
  }
  if (admin && !vm.admin() && vm.nics_size() > 0 && !vm.nics(0).lan().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(owner, ": eth0 is connected to lan ", Quote(vm.nics(0).lan()),
                     "; disconnect it before giving the VM the admin network"));
  }
  for (uint32_t i = nics; i < vm.nic_count(); ++i) {
    if (!vm.nics(i).lan().empty()) {
      return absl::FailedPreconditionError(absl::StrCat(owner, ": eth", i, " is connected to lan ",
                                                        Quote(vm.nics(i).lan()),
                                                        "; disconnect it before removing it"));
    }
  }
  vm.set_mem_mib(mem);
  vm.set_image(image_name);
  if (admin != vm.admin()) SetAdmin(vm, admin, options);
  *vm.mutable_labels() = spec.labels();
  while (vm.nics_size() > static_cast<int>(nics)) vm.mutable_nics()->RemoveLast();
  for (uint32_t i = vm.nic_count(); i < nics; ++i) vm.add_nics()->set_index(i);
  vm.set_nic_count(nics);
  if (absl::Status s = SetNicMacs(state, owner, spec.nic_macs(), vm); !s.ok()) return s;
  // Like labels, what is given is the whole of it. A running VM gets it at its next boot.
  *vm.mutable_guest() = spec.guest();
  if (absl::Status s = GuestConfigOf(vm).status(); !s.ok()) return s;
  if (google::protobuf::util::MessageDifferencer::Equals(vm, **current)) return Changes{};
  return Changes{Make(Change::UPDATED, vm)};
}

absl::StatusOr<Changes> DeleteVm(const TopologyState& state, const std::string& name) {
  absl::StatusOr<const Vm*> vm = LookupVm(state, name);
  if (!vm.ok()) return vm.status();
  Changes changes;
  for (const auto& nic : (*vm)->nics()) {
    if (nic.lan().empty()) continue;
    Endpoint endpoint;
    endpoint.mutable_nic()->set_vm(name);
    endpoint.mutable_nic()->set_index(nic.index());
    changes.push_back(Make(Change::DELETED, *state.FindLink(EndpointKey(endpoint))));
  }
  changes.push_back(Make(Change::DELETED, **vm));
  return changes;
}

Lan NormalizedLan(const Lan& spec) {
  Lan lan = spec;
  if (lan.mode() == clownix::v1::LAN_MODE_UNSPECIFIED) lan.set_mode(clownix::v1::LAN_MODE_SWITCH);
  return lan;
}

absl::Status CheckLanSpec(const Lan& spec) {
  if (absl::Status s = common::ValidateName("lan", spec.name()); !s.ok()) return s;
  if (!clownix::v1::LanMode_IsValid(spec.mode())) {
    return absl::InvalidArgumentError(
        absl::StrCat("lan ", Quote(spec.name()), ": unknown mode ", spec.mode()));
  }
  return ValidateLabels(absl::StrCat("lan ", Quote(spec.name())), spec.labels());
}

absl::StatusOr<Changes> CreateLan(const TopologyState& state, const Lan& spec) {
  if (absl::Status s = CheckLanSpec(spec); !s.ok()) return s;
  if (state.FindLan(spec.name())) {
    return absl::AlreadyExistsError(absl::StrCat("lan ", Quote(spec.name()), " already exists"));
  }
  return Changes{Make(Change::CREATED, NormalizedLan(spec))};
}

absl::StatusOr<Changes> UpdateLan(const TopologyState& state, const Lan& spec) {
  absl::StatusOr<const Lan*> current = LookupLan(state, spec.name());
  if (!current.ok()) return current.status();
  if (absl::Status s = CheckLanSpec(spec); !s.ok()) return s;
  Lan lan = NormalizedLan(spec);
  if (google::protobuf::util::MessageDifferencer::Equals(lan, **current)) return Changes{};
  return Changes{Make(Change::UPDATED, lan)};
}

absl::StatusOr<Changes> DeleteLan(const TopologyState& state, const std::string& name) {
  absl::StatusOr<const Lan*> lan = LookupLan(state, name);
  if (!lan.ok()) return lan.status();
  const std::set<std::string>& users = state.LinksOnLan(name);
  if (!users.empty()) {
    std::vector<std::string> shown;
    for (const std::string& key : users) {
      if (shown.size() == 3) {
        shown.push_back("...");
        break;
      }
      shown.push_back(key);
    }
    return absl::FailedPreconditionError(absl::StrCat("lan ", Quote(name), " is still in use by ",
                                                      users.size(),
                                                      " link(s): ", absl::StrJoin(shown, ", ")));
  }
  return Changes{Make(Change::DELETED, **lan)};
}

absl::StatusOr<Changes> CreateTap(const TopologyState& state, const Tap& spec) {
  if (absl::Status s = common::ValidateTapName(spec.name()); !s.ok()) return s;
  if (absl::Status s = ValidateLabels(absl::StrCat("tap ", Quote(spec.name())), spec.labels());
      !s.ok()) {
    return s;
  }
  if (state.FindTap(spec.name())) {
    return absl::AlreadyExistsError(absl::StrCat("tap ", Quote(spec.name()), " already exists"));
  }
  Tap tap = spec;
  tap.clear_lan();
  return Changes{Make(Change::CREATED, tap)};
}

absl::StatusOr<Changes> UpdateTap(const TopologyState& state, const Tap& spec) {
  absl::StatusOr<const Tap*> current = LookupTap(state, spec.name());
  if (!current.ok()) return current.status();
  if (absl::Status s = ValidateLabels(absl::StrCat("tap ", Quote(spec.name())), spec.labels());
      !s.ok()) {
    return s;
  }
  Tap tap = **current;
  *tap.mutable_labels() = spec.labels();
  if (google::protobuf::util::MessageDifferencer::Equals(tap, **current)) return Changes{};
  return Changes{Make(Change::UPDATED, tap)};
}

absl::StatusOr<Changes> DeleteTap(const TopologyState& state, const std::string& name) {
  absl::StatusOr<const Tap*> tap = LookupTap(state, name);
  if (!tap.ok()) return tap.status();
  Changes changes;
  if (!(*tap)->lan().empty()) {
    changes.push_back(Make(Change::DELETED, *state.FindLink(absl::StrCat("tap:", name))));
  }
  changes.push_back(Make(Change::DELETED, **tap));
  return changes;
}

absl::StatusOr<Changes> Connect(const TopologyState& state, const Endpoint& endpoint,
                                const std::string& lan) {
  if (absl::Status s = CheckEndpoint(state, endpoint); !s.ok()) return s;
  if (absl::StatusOr<const Lan*> found = LookupLan(state, lan); !found.ok()) return found.status();
  std::string key = EndpointKey(endpoint);
  if (const Link* link = state.FindLink(key)) {
    return absl::FailedPreconditionError(
        absl::StrCat(key, " is already connected to lan ", Quote(link->lan())));
  }
  Link link;
  *link.mutable_endpoint() = endpoint;
  link.set_lan(lan);
  return Changes{Make(Change::CREATED, link), EndpointOwnerUpdate(state, endpoint, lan, false)};
}

absl::StatusOr<Changes> Disconnect(const TopologyState& state, const Endpoint& endpoint) {
  if (absl::Status s = CheckEndpoint(state, endpoint); !s.ok()) return s;
  std::string key = EndpointKey(endpoint);
  const Link* link = state.FindLink(key);
  if (!link) return absl::FailedPreconditionError(absl::StrCat(key, " is not connected"));
  return Changes{Make(Change::DELETED, *link), EndpointOwnerUpdate(state, endpoint, "", false)};
}

absl::StatusOr<Changes> SetImpairment(const TopologyState& state,
                                      const clownix::v1::SetImpairmentRequest& request) {
  if (absl::Status s = CheckEndpoint(state, request.endpoint()); !s.ok()) return s;
  std::string key = EndpointKey(request.endpoint());
  if (absl::Status s = ValidateImpairment(key + " to_lan", request.to_lan()); !s.ok()) return s;
  if (absl::Status s = ValidateImpairment(key + " from_lan", request.from_lan()); !s.ok()) return s;
  const Link* current = state.FindLink(key);
  if (!current) {
    return absl::FailedPreconditionError(
        absl::StrCat(key, " is not connected: connect it before setting impairments"));
  }
  Link link = *current;
  *link.mutable_to_lan() = request.to_lan();
  *link.mutable_from_lan() = request.from_lan();
  if (google::protobuf::util::MessageDifferencer::Equals(link, *current)) return Changes{};
  return Changes{Make(Change::UPDATED, link)};
}

absl::StatusOr<Changes> SetVmStatus(const TopologyState& state, const VmStatus& status) {
  absl::StatusOr<const Vm*> current = LookupVm(state, status.name());
  if (!current.ok()) return current.status();
  if (status.state() == clownix::v1::VM_STATE_UNSPECIFIED || !VmState_IsValid(status.state())) {
    return absl::InvalidArgumentError(absl::StrCat("vm state ", status.state(), " is invalid"));
  }
  Vm vm = **current;
  vm.set_state(status.state());
  vm.set_state_reason(status.reason());
  if (status.has_startup()) {
    *vm.mutable_startup() = status.startup();
  } else if (status.state() == clownix::v1::VM_STATE_BOOTING) {
    vm.mutable_startup()->Clear();
    vm.mutable_startup()->set_state(clownix::v1::StartupStatus::STATE_PENDING);
  } else if (status.state() == clownix::v1::VM_STATE_RUNNING &&
             vm.startup().state() == clownix::v1::StartupStatus::STATE_PENDING) {
    vm.mutable_startup()->set_state(clownix::v1::StartupStatus::STATE_RUNNING);  // agent answered
  }
  if (google::protobuf::util::MessageDifferencer::Equals(vm, **current)) return Changes{};
  return Changes{Make(Change::UPDATED, vm)};
}

absl::StatusOr<Changes> SetLinkStatus(const TopologyState& state, const LinkStatus& status) {
  if (absl::Status s = CheckEndpoint(state, status.endpoint()); !s.ok()) return s;
  std::string key = EndpointKey(status.endpoint());
  const Link* current = state.FindLink(key);
  if (!current) return absl::FailedPreconditionError(absl::StrCat(key, " is not connected"));
  if (current->up() == status.up()) return Changes{};
  Link link = *current;
  link.set_up(status.up());
  Changes changes{Make(Change::UPDATED, link)};
  if (status.endpoint().has_nic()) {
    changes.push_back(EndpointOwnerUpdate(state, status.endpoint(), link.lan(), status.up()));
  }
  return changes;
}

}  // namespace

absl::StatusOr<clownix::v1::Image> FindImage(const RuleOptions& options, const std::string& name) {
  if (options.find_image) return options.find_image(name);
  if (absl::Status s = common::ValidateName("image", name); !s.ok()) return s;
  clownix::v1::Image image;
  image.set_name(name);
  image.set_default_mem_mib(common::kDefaultMemMib);
  image.set_min_mem_mib(common::kMinMemMib);
  return image;
}

absl::Status ValidateImpairment(const std::string& what, const Impairment& impairment) {
  constexpr uint32_t kMaxDelayUs = 10'000'000;
  if (impairment.delay_us() > kMaxDelayUs) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": delay_us ", impairment.delay_us(),
                                                   " is out of range 0..", kMaxDelayUs));
  }
  if (impairment.jitter_us() > impairment.delay_us()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": jitter_us ", impairment.jitter_us(),
                                                   " exceeds delay_us ", impairment.delay_us()));
  }
  const std::pair<const char*, double> percents[] = {
      {"loss_percent", impairment.loss_percent()},
      {"duplicate_percent", impairment.duplicate_percent()},
      {"corrupt_percent", impairment.corrupt_percent()},
      {"reorder_percent", impairment.reorder_percent()},
  };
  for (const auto& [name, value] : percents) {
    if (!(value >= 0 && value <= 100)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": ", name, " ", value, " is out of range 0..100"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Change>> ComputeChanges(const TopologyState& state,
                                                   const Mutation& mutation,
                                                   const RuleOptions& options) {
  switch (mutation.op_case()) {
    case Mutation::kCreateVm:
      return CreateVm(state, mutation.create_vm().vm(), options);
    case Mutation::kDeleteVm:
      return DeleteVm(state, mutation.delete_vm().name());
    case Mutation::kCreateLan:
      return CreateLan(state, mutation.create_lan().lan());
    case Mutation::kDeleteLan:
      return DeleteLan(state, mutation.delete_lan().name());
    case Mutation::kCreateTap:
      return CreateTap(state, mutation.create_tap().tap());
    case Mutation::kDeleteTap:
      return DeleteTap(state, mutation.delete_tap().name());
    case Mutation::kConnect:
      return Connect(state, mutation.connect().endpoint(), mutation.connect().lan());
    case Mutation::kDisconnect:
      return Disconnect(state, mutation.disconnect().endpoint());
    case Mutation::kSetImpairment:
      return SetImpairment(state, mutation.set_impairment());
    case Mutation::kUpdateVm:
      return UpdateVm(state, mutation.update_vm(), options);
    case Mutation::kUpdateLan:
      return UpdateLan(state, mutation.update_lan());
    case Mutation::kUpdateTap:
      return UpdateTap(state, mutation.update_tap());
    case Mutation::kVmStatus:
      return SetVmStatus(state, mutation.vm_status());
    case Mutation::kLinkStatus:
      return SetLinkStatus(state, mutation.link_status());
    case Mutation::OP_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("empty mutation");
}

}  // namespace clownix::server
