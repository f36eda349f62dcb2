#include "server/server_options.h"

#include <arpa/inet.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace clownix::server {
namespace {

constexpr uint32_t kMaxTaps = 64;

// Port 0 (any free port) only where `allow_zero`: the seed's port is a fixed one.
absl::Status CheckPort(absl::string_view text, bool allow_zero = false) {
  uint32_t port;
  if (!absl::SimpleAtoi(text, &port) || (port == 0 && !allow_zero) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port \"", text, "\" is not in ", allow_zero ? 0 : 1, "..65535"));
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<std::pair<uint8_t, uint8_t>> ServerOptions::admin_prefix() const {
  in_addr addr;
  if (ip_admin.empty() || inet_pton(AF_INET, ip_admin.c_str(), &addr) != 1) return std::nullopt;
  const auto* bytes = reinterpret_cast<const uint8_t*>(&addr.s_addr);
  return std::make_pair(bytes[0], bytes[1]);
}

absl::StatusOr<ServerOptions> ResolveServerOptions(ServerOptions options,
                                                   const std::vector<std::string>& positional) {
  if (!positional.empty()) {
    if (positional.size() != 7) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expected the seed's 7 positional arguments <port> <num_tap> <ip_admin> <work_dir> ",
          "<bulk_dir> <rsa_public> <rsa_private>, got ", positional.size(), ": ",
          absl::StrJoin(positional, " ")));
    }
    if (absl::Status s = CheckPort(positional[0]); !s.ok()) return s;
    options.listen = absl::StrCat("127.0.0.1:", positional[0]);
    if (!absl::SimpleAtoi(positional[1], &options.num_tap)) {
      return absl::InvalidArgumentError(
          absl::StrCat("num_tap \"", positional[1], "\" is not a number"));
    }
    options.ip_admin = positional[2];
    options.work_dir = positional[3];
    options.bulk_dir = positional[4];
    options.rsa_public = positional[5];
    options.rsa_private = positional[6];
  }
  if (options.work_dir.empty()) {
    return absl::InvalidArgumentError("the work dir is empty: give --work_dir DIR");
  }
  if (options.work_dir.size() > 60) {
    // Sockets live under it (LAN control sockets, UML mconsoles): each path must fit
    // sockaddr_un's 108 bytes with a 32-character name inside.
    return absl::InvalidArgumentError(
        absl::StrCat("work dir \"", options.work_dir, "\" is too long for a unix socket path"));
  }
  while (options.work_dir.size() > 1 && options.work_dir.back() == '/') options.work_dir.pop_back();
  if (!options.listen.empty()) {
    std::vector<std::string> parts = absl::StrSplit(options.listen, absl::MaxSplits(':', 1));
    if (parts.size() == 1) {
      // A bare port listens on loopback only.
      if (absl::Status s = CheckPort(parts[0], true); !s.ok()) return s;
      options.listen = absl::StrCat("127.0.0.1:", parts[0]);
    } else {
      size_t colon = options.listen.rfind(':');
      if (absl::Status s = CheckPort(options.listen.substr(colon + 1), true); !s.ok()) return s;
      if (colon == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--listen \"", options.listen, "\" has no host: use HOST:PORT"));
      }
    }
  }
  if (options.admin_tap.empty() || options.admin_tap.size() > 15 ||
      options.admin_tap.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") !=
          std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "admin_tap \"", options.admin_tap, "\" is not a valid interface name (1-15 of a-z0-9_-)"));
  }
  if (options.watch_queue_limit < 10) {
    return absl::InvalidArgumentError(
        absl::StrCat("watch_queue_limit ", options.watch_queue_limit, " is below 10"));
  }
  if (options.num_tap > kMaxTaps) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_tap ", options.num_tap, " is out of range 0..", kMaxTaps));
  }
  if (!options.ip_admin.empty() && !options.admin_prefix()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ip_admin \"", options.ip_admin, "\" is not an IPv4 address"));
  }
  return options;
}

std::vector<std::string> OptionWarnings(const ServerOptions& options) {
  std::vector<std::string> warnings;
  if (!options.rsa_private.empty()) {
    warnings.push_back(absl::StrCat(
        "rsa_private \"", options.rsa_private,
        "\" is ignored: it is accepted for the seed's command line, but clownixd only puts the "
        "public key into VMs"));
  }
  return warnings;
}

}  // namespace clownix::server
