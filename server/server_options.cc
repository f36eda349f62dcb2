#include "server/server_options.h"

#include <arpa/inet.h>

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/seed_rules.h"

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

// `address` (the value of `flag`) as HOST:PORT; a bare port means 127.0.0.1:PORT.
absl::Status NormalizeTcpAddress(absl::string_view flag, std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    if (absl::Status s = CheckPort(address, true); !s.ok()) return s;
    address = absl::StrCat("127.0.0.1:", address);
    return absl::OkStatus();
  }
  if (absl::Status s = CheckPort(address.substr(colon + 1), true); !s.ok()) return s;
  if (colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " \"", address, "\" has no host: use HOST:PORT"));
  }
  return absl::OkStatus();
}

// Whether HOST of HOST:PORT is 127.0.0.1, [::1] or localhost: the loopback addresses gRPC's local
// credentials accept peers from (the rest of 127.0.0.0/8 they refuse).
bool IsLoopback(absl::string_view address) {
  absl::string_view host = address.substr(0, address.rfind(':'));
  if (host == "localhost") return true;
  if (absl::ConsumePrefix(&host, "[") && absl::ConsumeSuffix(&host, "]")) {
    in6_addr addr6;
    return inet_pton(AF_INET6, std::string(host).c_str(), &addr6) == 1 &&
           IN6_IS_ADDR_LOOPBACK(&addr6);
  }
  in_addr addr;
  return inet_pton(AF_INET, std::string(host).c_str(), &addr) == 1 &&
         ntohl(addr.s_addr) == INADDR_LOOPBACK;
}

// The listener rules (server/api_access.h): TLS wherever the network reaches, plaintext only on
// loopback, and never a TCP listener that would make anyone who reaches it admin.
absl::Status CheckListeners(ServerOptions& options) {
  if (!options.listen.empty()) {
    if (absl::Status s = NormalizeTcpAddress("--listen", options.listen); !s.ok()) return s;
  }
  if (!options.insecure_listen.empty()) {
    if (absl::Status s = NormalizeTcpAddress("--insecure_listen", options.insecure_listen);
        !s.ok()) {
      return s;
    }
  }
  if (!options.listen.empty() && !options.insecure_listen.empty()) {
    return absl::InvalidArgumentError(
        "--listen and --insecure_listen: give one TCP listener (the unix socket is always there)");
  }
  if (!options.insecure_listen.empty() && !IsLoopback(options.insecure_listen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--insecure_listen \"", options.insecure_listen,
        "\" is not a loopback address: plaintext is only served on 127.0.0.1, [::1] or localhost; "
        "for other addresses use --listen with --tls_cert and --tls_key"));
  }
  if (options.listen.empty()) {
    for (const auto& [flag, value] : {std::make_pair("--tls_cert", &options.tls_cert),
                                      std::make_pair("--tls_key", &options.tls_key),
                                      std::make_pair("--client_ca", &options.client_ca)}) {
      if (!value->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(flag, " is for the TLS listener: give --listen HOST:PORT too"));
      }
    }
    return absl::OkStatus();
  }
  if (options.tls_cert.empty() || options.tls_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", options.listen, " serves TLS: give --tls_cert and --tls_key (PEM files)",
        IsLoopback(options.listen)
            ? absl::StrCat("; for plaintext on loopback use --insecure_listen ", options.listen)
            : ""));
  }
  if (options.client_ca.empty() && options.tokens_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", options.listen, " would let anyone who reaches it in as admin: give ",
        "--client_ca (clients need a certificate from that CA) and/or --tokens_file"));
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
    // The seed's port was plaintext on loopback: that is what --insecure_listen is.
    options.insecure_listen = absl::StrCat("127.0.0.1:", positional[0]);
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
  if (absl::Status s = CheckListeners(options); !s.ok()) return s;
  if (options.admin_tap.empty() || options.admin_tap.size() > 15 ||
      options.admin_tap.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") !=
          std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "admin_tap \"", options.admin_tap, "\" is not a valid interface name (1-15 of a-z0-9_-)"));
  }
  if (options.vm_uid_base != 0 &&
      (options.vm_uid_base < 1000 ||
       options.vm_uid_base > static_cast<uint32_t>(INT32_MAX) - common::kMaxVmNumber)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vm_uid_base ", options.vm_uid_base, " must be 0 or from 1000 to ",
        static_cast<uint32_t>(INT32_MAX) - common::kMaxVmNumber, " (VM users are vm_uid_base + 1..",
        common::kMaxVmNumber, ", above system users)"));
  }
  if (options.vm_memory_budget_mib < 0) {
    return absl::InvalidArgumentError(absl::StrCat("vm_memory_budget_mib ",
                                                   options.vm_memory_budget_mib,
                                                   " is negative (0: from the host's memory)"));
  }
  if (options.watch_queue_limit < 10) {
    return absl::InvalidArgumentError(
        absl::StrCat("watch_queue_limit ", options.watch_queue_limit, " is below 10"));
  }
  if (options.num_tap > kMaxTaps) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_tap ", options.num_tap, " is out of range 0..", kMaxTaps));
  }
  if (absl::Status s = common::ValidateName("image", options.default_image); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--default_image: ", s.message()));
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
  if (options.tokens_file.empty() && !options.socket_group.empty()) {
    warnings.push_back(absl::StrCat("--socket_group ", options.socket_group,
                                    " without --tokens_file: every member of the group is admin"));
  }
  if (options.tokens_file.empty() && !options.insecure_listen.empty()) {
    warnings.push_back(absl::StrCat("plaintext port ", options.insecure_listen,
                                    " without --tokens_file: every user of this host is admin"));
  }
  return warnings;
}

}  // namespace clownix::server
