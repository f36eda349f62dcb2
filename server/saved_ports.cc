#include "server/saved_ports.h"

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/file_io.h"

namespace clownix::server {
namespace {

using switchcore::SwitchClient;

std::string MacText(const std::array<uint8_t, 6>& mac) {
  return absl::StrFormat("%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                         mac[5]);
}

}  // namespace

absl::Status SavedPorts::Load() {
  ports_.clear();
  absl::StatusOr<std::string> text = common::ReadFileIfExists(path_);
  if (!text.ok()) return text.status();
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() != 4) continue;
    SwitchClient::PortInfo port;
    port.kind = switchcore::ctl::PortKind::kVm;
    if (!absl::SimpleAtoi(fields[0], &port.port_id) || port.port_id == 0) continue;
    port.lan = fields[1];
    if (fields[2] != "-") {
      std::string mac = absl::HexStringToBytes(fields[2]);
      if (mac.size() != 6) continue;
      std::copy(mac.begin(), mac.end(), port.mac.begin());
      port.mac_known = true;
    }
    std::string address = absl::HexStringToBytes(fields[3]);
    if (address.size() != sizeof(port.vm_address.addr)) continue;
    std::memcpy(&port.vm_address.addr, address.data(), address.size());
    ports_[port.port_id] = port;
  }
  return absl::OkStatus();
}

absl::Status SavedPorts::Put(const SwitchClient::PortInfo& port) {
  ports_[port.port_id] = port;
  return Write();
}

absl::Status SavedPorts::Erase(uint64_t port_id) {
  if (ports_.erase(port_id) == 0) return absl::OkStatus();
  return Write();
}

absl::Status SavedPorts::Write() const {
  std::string text;
  for (const auto& [id, port] : ports_) {
    std::string address(reinterpret_cast<const char*>(&port.vm_address.addr),
                        sizeof(port.vm_address.addr));
    absl::StrAppend(&text, id, " ", port.lan, " ", port.mac_known ? MacText(port.mac) : "-", " ",
                    absl::BytesToHexString(address), "\n");
  }
  return common::WriteFileDurably(path_, text);
}

}  // namespace clownix::server
