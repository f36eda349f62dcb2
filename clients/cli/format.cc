#include "clients/cli/format.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "clients/common/vm_facts.h"
#include "google/protobuf/util/json_util.h"

namespace clownix::cli {
namespace {

// A microsecond count the way a person writes it: 250us, 10ms, 1.5s.
std::string MicrosText(uint64_t us) { return absl::FormatDuration(absl::Microseconds(us)); }

std::string PercentText(double percent) { return absl::StrCat(percent, "%"); }

}  // namespace

std::string ImageText(const v1::Vm& vm) { return vm.image().empty() ? "-" : vm.image(); }

std::string BytesText(uint64_t bytes) {
  constexpr uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
  if (bytes < kMiB) return absl::StrCat((bytes + kKiB - 1) / kKiB, "K");
  if (bytes < 10 * kGiB && bytes >= kGiB) {
    // One decimal, rounded up: 1.2G.
    uint64_t tenths = (bytes * 10 + kGiB - 1) / kGiB;
    return absl::StrCat(tenths / 10, ".", tenths % 10, "G");
  }
  if (bytes >= kGiB) return absl::StrCat((bytes + kGiB - 1) / kGiB, "G");
  return absl::StrCat((bytes + kMiB - 1) / kMiB, "M");
}

std::string ImageMemText(const v1::Image& image) {
  return absl::StrCat(image.default_mem_mib(), "M (min ", image.min_mem_mib(), "M)");
}

std::string VmStateText(const v1::Vm& vm, bool with_reason) {
  std::string text = "unknown";
  if (vm.state() != v1::VM_STATE_UNSPECIFIED && v1::VmState_IsValid(vm.state())) {
    text = absl::AsciiStrToLower(v1::VmState_Name(vm.state()).substr(sizeof("VM_STATE_") - 1));
  }
  if (with_reason && !vm.state_reason().empty()) {
    absl::StrAppend(&text, " (", vm.state_reason(), ")");
  }
  return text;
}

std::string LanModeText(v1::LanMode mode) { return mode == v1::LAN_MODE_HUB ? "hub" : "switch"; }

std::string LabelsText(const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.empty()) return "-";
  std::map<std::string, std::string> sorted(labels.begin(), labels.end());
  return absl::StrJoin(sorted, ",", absl::PairFormatter("="));
}

std::string EndpointText(const v1::Endpoint& endpoint) {
  switch (endpoint.kind_case()) {
    case v1::Endpoint::kNic:
      return absl::StrCat(endpoint.nic().vm(), "/eth", endpoint.nic().index());
    case v1::Endpoint::kTap:
      return absl::StrCat("tap:", endpoint.tap());
    case v1::Endpoint::KIND_NOT_SET:
      break;
  }
  return "?";
}

std::string ImpairmentText(const v1::Impairment& i) {
  std::vector<std::string> parts;
  if (i.delay_us() != 0) parts.push_back(absl::StrCat("delay=", MicrosText(i.delay_us())));
  if (i.jitter_us() != 0) parts.push_back(absl::StrCat("jitter=", MicrosText(i.jitter_us())));
  if (i.loss_percent() != 0) parts.push_back(absl::StrCat("loss=", PercentText(i.loss_percent())));
  if (i.duplicate_percent() != 0) {
    parts.push_back(absl::StrCat("duplicate=", PercentText(i.duplicate_percent())));
  }
  if (i.corrupt_percent() != 0) {
    parts.push_back(absl::StrCat("corrupt=", PercentText(i.corrupt_percent())));
  }
  if (i.reorder_percent() != 0) {
    parts.push_back(absl::StrCat("reorder=", PercentText(i.reorder_percent())));
  }
  if (i.rate_kbps() != 0) parts.push_back(absl::StrCat("rate=", i.rate_kbps(), "kbit"));
  return parts.empty() ? "-" : absl::StrJoin(parts, " ");
}

std::string AdminText(const v1::Vm& vm) {
  if (!clients::HasAdminNetwork(vm)) return "none";
  return vm.admin_ip().empty() ? "-" : vm.admin_ip();
}

bool GuestHasNic(const v1::Vm& vm, const v1::Nic& nic) {
  return nic.index() != 0 || clients::HasAdminNetwork(vm) || !nic.lan().empty();
}

std::string NicsText(const v1::Vm& vm) {
  std::vector<std::string> parts;
  for (const v1::Nic& nic : vm.nics()) {
    if (!GuestHasNic(vm, nic)) continue;
    parts.push_back(absl::StrCat("eth", nic.index(), ":", nic.lan().empty() ? "-" : nic.lan()));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, " ");
}

std::string PlanActionText(v1::PlanItem::Action action) {
  if (action == v1::PlanItem::ACTION_UNSPECIFIED || !v1::PlanItem::Action_IsValid(action)) {
    return "?";
  }
  return v1::PlanItem::Action_Name(action);
}

std::string ChangeText(const v1::Change& change) {
  std::string verb = "changed";
  switch (change.type()) {
    case v1::Change::CREATED:
      verb = "created";
      break;
    case v1::Change::UPDATED:
      verb = "updated";
      break;
    case v1::Change::DELETED:
      verb = "deleted";
      break;
    default:
      break;
  }
  const bool deleted = change.type() == v1::Change::DELETED;
  switch (change.object_case()) {
    case v1::Change::kVm: {
      const v1::Vm& vm = change.vm();
      std::string text = absl::StrCat(verb, " vm ", vm.name());
      if (!deleted) {
        absl::StrAppend(&text, " (", VmStateText(vm), ", ", vm.mem_mib(), " MiB, ", NicsText(vm));
        if (!vm.admin_ip().empty()) absl::StrAppend(&text, ", ", vm.admin_ip());
        if (!clients::HasAdminNetwork(vm)) absl::StrAppend(&text, ", no admin network");
        absl::StrAppend(&text, ")");
      }
      return text;
    }
    case v1::Change::kLan:
      return absl::StrCat(verb, " lan ", change.lan().name(),
                          deleted ? "" : absl::StrCat(" (", LanModeText(change.lan().mode()), ")"));
    case v1::Change::kTap: {
      const v1::Tap& tap = change.tap();
      return absl::StrCat(
          verb, " tap ", tap.name(),
          deleted ? "" : absl::StrCat(" (lan ", tap.lan().empty() ? "-" : tap.lan(), ")"));
    }
    case v1::Change::kLink: {
      const v1::Link& link = change.link();
      std::string text =
          absl::StrCat(verb, " link ", EndpointText(link.endpoint()), " -> ", link.lan());
      if (!deleted) {
        absl::StrAppend(&text, " (", link.up() ? "up" : "down");
        std::string to_lan = ImpairmentText(link.to_lan());
        std::string from_lan = ImpairmentText(link.from_lan());
        if (to_lan != "-") absl::StrAppend(&text, ", to-lan ", to_lan);
        if (from_lan != "-") absl::StrAppend(&text, ", from-lan ", from_lan);
        absl::StrAppend(&text, ")");
      }
      return text;
    }
    case v1::Change::OBJECT_NOT_SET:
      break;
  }
  return absl::StrCat(verb, " (unknown object)");
}

std::string SnapshotReasonText(v1::Snapshot::Reason reason) {
  switch (reason) {
    case v1::Snapshot::INITIAL:
      return "initial";
    case v1::Snapshot::HISTORY_EXPIRED:
      return "history expired";
    case v1::Snapshot::FELL_BEHIND:
      return "fell behind";
    default:
      return "unspecified";
  }
}

std::string TimeText(int64_t time_us) {
  return absl::FormatTime("%H:%M:%E3S", absl::FromUnixMicros(time_us), absl::LocalTimeZone());
}

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.preserve_proto_field_names = false;
  std::string json;
  // Printing a well-formed message cannot fail; a failure here is a bug.
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) std::abort();
  if (pretty && !json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

std::string StatusCodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(sizeof(kNames) / sizeof(kNames[0]))) {
    return kNames[code];
  }
  return absl::StrCat("CODE_", code);
}

std::string ServerInfoText(const v1::ServerInfo& info) {
  if (info.memory_budget_mib() == 0) return "";
  std::string text =
      absl::StrCat("vm memory: ", info.memory_used_mib(), " of ", info.memory_budget_mib(),
                   " MiB used (", info.vms_size(), info.vms_size() == 1 ? " VM, " : " VMs, ",
                   info.vm_overhead_mib(), " MiB each for UML), ", info.memory_free_mib(), " free");
  if (info.host_memory_mib() > 0) absl::StrAppend(&text, " of the host's ", info.host_memory_mib());
  absl::StrAppend(&text, "; booting ", info.vms_booting(), " (",
                  info.max_booting() == 0
                      ? std::string("no limit")
                      : absl::StrCat("at most ", info.max_booting(), " at once"),
                  "), ", info.vms_queued_to_boot(), " queued");
  if (info.vms_waiting_for_memory_size() > 0) {
    absl::StrAppend(&text,
                    "; waiting for memory: ", absl::StrJoin(info.vms_waiting_for_memory(), ", "));
  }
  return text;
}

std::string VmHostMemoryText(const v1::ServerInfo& info, const std::string& vm) {
  for (const v1::VmHostMemory& m : info.vms()) {
    if (m.vm() != vm) continue;
    std::string text = absl::StrCat(m.charged_mib(), " MiB charged");
    if (m.used_mib() > 0) {
      absl::StrAppend(&text, ", ", m.used_mib(), " MiB used (peak ", m.peak_mib(), ")");
    }
    return text;
  }
  return "";
}

std::string StartupText(const v1::StartupStatus& startup) {
  switch (startup.state()) {
    case v1::StartupStatus::STATE_PENDING:
      return "pending";
    case v1::StartupStatus::STATE_RUNNING:
      return "running";
    case v1::StartupStatus::STATE_DONE:
      return "done";
    case v1::StartupStatus::STATE_FAILED:
      return absl::StrCat("failed (exit ", startup.exit_code(), ")");
    default:
      return "-";
  }
}

std::string GuestText(const v1::GuestConfig& guest) {
  std::vector<std::string> parts;
  auto count = [&parts](int n, const char* one, const char* many) {
    if (n > 0) parts.push_back(absl::StrCat(n, " ", n == 1 ? one : many));
  };
  count(guest.files_size(), "file", "files");
  count(guest.sysctls_size(), "sysctl", "sysctls");
  count(guest.addresses_size(), "address", "addresses");
  if (!guest.startup().empty()) {
    const size_t lines = std::count(guest.startup().begin(), guest.startup().end(), '\n') +
                         (guest.startup().back() == '\n' ? 0 : 1);
    parts.push_back(absl::StrCat("startup script (", lines, lines == 1 ? " line)" : " lines)"));
  }
  return parts.empty() ? "none" : absl::StrJoin(parts, ", ");
}

std::string NicAddressesText(const v1::GuestConfig& guest, uint32_t index) {
  std::vector<std::string> cidrs;
  for (const v1::NicAddress& address : guest.addresses()) {
    if (address.nic() == index) cidrs.push_back(address.cidr());
  }
  return cidrs.empty() ? "-" : absl::StrJoin(cidrs, " ");
}

}  // namespace clownix::cli
