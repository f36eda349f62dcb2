#include "switchcore/daemon_protocol.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace clownix::switchcore {

uint64_t StableHash(absl::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

absl::StatusOr<DataAddress> ParseDataAddress(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != kReplySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("data address is ", bytes.size(), " bytes, want ", kReplySize));
  }
  DataAddress out;
  std::memcpy(&out.addr, bytes.data(), kReplySize);
  if (out.addr.sun_family != AF_UNIX) {
    return absl::InvalidArgumentError(
        absl::StrCat("data address family is ", out.addr.sun_family, ", want AF_UNIX"));
  }
  if (!out.IsAbstract()) {
    // A filesystem path must be NUL-terminated inside sun_path, and it is used as a C string.
    size_t len = strnlen(out.addr.sun_path, kSunPathSize);
    if (len == kSunPathSize) {
      return absl::InvalidArgumentError("data address path is not NUL-terminated");
    }
    std::memset(out.addr.sun_path + len, 0, kSunPathSize - len);
  } else if (out.Path().find_first_not_of('\0') == absl::string_view::npos) {
    return absl::InvalidArgumentError("data address is an empty abstract name");
  }
  return out;
}

absl::StatusOr<DataAddress> ParseRequest(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != kRequestSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("request is ", bytes.size(), " bytes, want ", kRequestSize));
  }
  RequestV3 req;
  std::memcpy(&req, bytes.data(), kRequestSize);
  if (req.magic != kSwitchMagic) {
    return absl::InvalidArgumentError(absl::StrFormat("bad magic 0x%08x", req.magic));
  }
  if (req.version != kSwitchVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported version ", req.version, ", want ", kSwitchVersion));
  }
  if (req.type != static_cast<uint32_t>(RequestType::kNewControl)) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported request type ", req.type));
  }
  return ParseDataAddress(bytes.subspan(offsetof(RequestV3, sock), kReplySize));
}

void BuildRequest(const DataAddress& address, uint8_t out[kRequestSize]) {
  RequestV3 req;
  std::memset(&req, 0, sizeof(req));
  req.magic = kSwitchMagic;
  req.version = kSwitchVersion;
  req.type = static_cast<uint32_t>(RequestType::kNewControl);
  req.sock = address.addr;
  std::memcpy(out, &req, sizeof(req));
}

DataAddress AbstractAddress(absl::string_view name) {
  DataAddress out;
  std::memset(&out.addr, 0, sizeof(out.addr));
  out.addr.sun_family = AF_UNIX;
  size_t n = std::min(name.size(), kSunPathSize - 1);
  std::memcpy(out.addr.sun_path + 1, name.data(), n);
  return out;
}

DataAddress PortDataAddress(absl::string_view work_dir, absl::string_view lan,
                            const DataAddress& vm_address) {
  uint64_t lan_hash = StableHash(lan, StableHash(absl::StrCat(work_dir, "\n")));
  uint64_t vm_hash = StableHash(vm_address.Path());
  return AbstractAddress(absl::StrFormat("clownix-switchcore/%016x/%016x", lan_hash, vm_hash));
}

std::string AddressToString(const DataAddress& address) {
  if (!address.IsAbstract()) return std::string(address.addr.sun_path);
  absl::string_view path = address.Path();
  size_t last = path.find_last_not_of('\0');
  std::string out = "@";
  for (size_t i = 1; last != absl::string_view::npos && i <= last; ++i) {
    unsigned char c = path[i];
    if (c >= 0x21 && c < 0x7f && c != '\\') {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    }
  }
  return out;
}

}  // namespace clownix::switchcore
