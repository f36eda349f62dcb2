// UML's `daemon` network transport, as spoken by Linux 6.1 (arch/um/drivers/daemon_user.c),
// uml_switch (uml-utilities) and vde_switch (vde2). This header is the one place the wire format
// is written down.
//
// Handshake, on a unix SOCK_STREAM connection to the LAN's control path:
//   VM -> switch: struct RequestV3, exactly sizeof(RequestV3) = 124 bytes (122 + 2 zero padding),
//                 written in one go. `sock` is the VM's own SOCK_DGRAM address (abstract: the
//                 first byte of sun_path is 0, the rest a binary name; all 108 bytes count).
//   switch -> VM: one struct sockaddr_un (110 bytes, zero padded): the switch's data address.
// Then every Ethernet frame is one datagram, sent with sendto() to the peer's data address, always
// with the full 110-byte address length (a shorter length names a different abstract socket).
// UML ignores the control stream after the handshake and never reconnects; its closing means the
// NIC is gone.
//
// Everything read from the control stream is hostile: ParseRequest() validates every field.
#ifndef CLOWNIX_SWITCHCORE_DAEMON_PROTOCOL_H_
#define CLOWNIX_SWITCHCORE_DAEMON_PROTOCOL_H_

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace clownix::switchcore {

inline constexpr uint32_t kSwitchMagic = 0xfeedface;
inline constexpr uint32_t kSwitchVersion = 3;

// `type` of a request. Only REQ_NEW_CONTROL exists in version 3.
enum class RequestType : uint32_t { kNewControl = 0 };

// The request as laid out in memory by the VM (native endianness: both ends run on this host).
struct RequestV3 {
  uint32_t magic;
  uint32_t version;
  uint32_t type;
  struct sockaddr_un sock;
};
static_assert(sizeof(struct sockaddr_un) == 110, "sockaddr_un must be 110 bytes");
static_assert(offsetof(RequestV3, sock) == 12, "request_v3 layout");
static_assert(sizeof(RequestV3) == 124, "request_v3 is 124 bytes on the wire");

inline constexpr size_t kRequestSize = sizeof(RequestV3);
inline constexpr size_t kReplySize = sizeof(struct sockaddr_un);
inline constexpr size_t kSunPathSize = sizeof(((struct sockaddr_un*)nullptr)->sun_path);

// Ethernet frame bounds the switch accepts: a header, and at most a 1500-byte payload with one
// 802.1Q tag.
inline constexpr size_t kMinFrameSize = 14;
inline constexpr size_t kMaxFrameSize = 1518;

// A validated VM data address: a full 110-byte sockaddr_un, zero padded where the VM left zeros.
struct DataAddress {
  struct sockaddr_un addr;

  bool IsAbstract() const { return addr.sun_path[0] == '\0'; }
  // The 108 sun_path bytes, the identity of the address.
  absl::string_view Path() const { return absl::string_view(addr.sun_path, kSunPathSize); }
  bool operator==(const DataAddress& other) const { return Path() == other.Path(); }
};

// Parses and validates one handshake request. `bytes` must be exactly kRequestSize bytes (callers
// read until they have that many). Errors (INVALID_ARGUMENT) name what is wrong: size, magic,
// version, type, address family, an unterminated or empty filesystem path.
absl::StatusOr<DataAddress> ParseRequest(absl::Span<const uint8_t> bytes);

// Parses a sockaddr_un carried elsewhere (a restore request): same address checks as ParseRequest.
absl::StatusOr<DataAddress> ParseDataAddress(absl::Span<const uint8_t> bytes);

// Serialises a request (used by the benchmark's endpoints and by tests).
void BuildRequest(const DataAddress& address, uint8_t out[kRequestSize]);

// The switch's data address for a port: abstract, deterministic in (work_dir, lan, VM address), so
// a restarted switch binds the same address and the VM keeps reaching it.
DataAddress PortDataAddress(absl::string_view work_dir, absl::string_view lan,
                            const DataAddress& vm_address);

// An abstract address whose name is `name` (truncated to 107 bytes), zero padded.
DataAddress AbstractAddress(absl::string_view name);

// A printable form: "@" + hex of the abstract name up to its last non-zero byte, or the path.
std::string AddressToString(const DataAddress& address);

// FNV-1a 64: stable across processes and builds (absl::Hash is seeded per process).
uint64_t StableHash(absl::string_view bytes, uint64_t seed = 0xcbf29ce484222325ull);

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_DAEMON_PROTOCOL_H_
