// libFuzzer target: the daemon-protocol handshake parser and the Handshake reader, fed hostile
// bytes in arbitrary chunks. Invariants: never crash; whatever is accepted is a valid AF_UNIX
// address that round-trips through BuildRequest.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "switchcore/daemon_protocol.h"
#include "switchcore/handshake.h"

using clownix::switchcore::BuildRequest;
using clownix::switchcore::DataAddress;
using clownix::switchcore::Handshake;
using clownix::switchcore::kReplySize;
using clownix::switchcore::kRequestSize;
using clownix::switchcore::ParseDataAddress;
using clownix::switchcore::ParseRequest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<DataAddress> r = ParseRequest(absl::MakeConstSpan(data, size));
  if (r.ok()) {
    if (size != kRequestSize || r->addr.sun_family != AF_UNIX) abort();
    if (!r->IsAbstract() && strnlen(r->addr.sun_path, sizeof(r->addr.sun_path)) == 108) abort();
    uint8_t again[kRequestSize];
    BuildRequest(*r, again);
    absl::StatusOr<DataAddress> back = ParseRequest(again);
    if (!back.ok() || !(*back == *r)) abort();
  }
  if (size >= kReplySize) (void)ParseDataAddress(absl::MakeConstSpan(data, kReplySize));

  // The same bytes through a real stream, in chunks sized by the first byte.
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) return 0;
  Handshake hs(sv[0], 0);
  size_t chunk = size ? (data[0] % 32) + 1 : 1;
  for (size_t off = 0; off < size; off += chunk) {
    size_t n = std::min(chunk, size - off);
    if (write(sv[1], data + off, n) != static_cast<ssize_t>(n)) break;
    absl::StatusOr<bool> done = hs.OnReadable();
    if (!done.ok() || *done) break;
  }
  close(sv[1]);
  (void)hs.OnReadable();
  return 0;
}
