// Wire format of UML's management console ("mconsole"), the one place it is written down.
//
// Transport: unix SOCK_DGRAM. The VM binds uml_dir/UMID/mconsole. A client binds its own socket
// (UML answers to the sender address: an unbound client gets no reply), sends one request
// datagram and reads one or more reply datagrams until one has `more == 0`.
// All integers are host byte order (the VM runs on this host).
//
// Request:  u32 magic = 0xcafebabe, u32 version = 2, u32 len, char data[len]  (len <= 512)
//           data is a command line: "version", "halt", "reboot", "cad", "config ethN=...",
//           "config ssl1" (query: "OK pts:/dev/pts/N"), "remove ethN", ...
// Reply:    i32 err (0 = OK), i32 more (1 = another datagram follows), u32 len, char data[len]
//           Each datagram is exactly 12 + len bytes. Text is not NUL-terminated on the wire.
//
// Notifications: with `mconsole=notify:PATH` on the kernel command line the VM sends datagrams
// to PATH (from an unbound socket, so no sender address):
//           u32 magic = 0xcafebabe, i32 version = 2, i32 type, i32 len, char data[len]
//   type 0 SOCKET       data = the VM's mconsole socket path (sent at boot, also after reboot)
//   type 1 PANIC        data = panic message
//   type 2 HANG         data = empty
//   type 3 USER_NOTIFY  data = what a guest process wrote to /proc/mconsole
//                       (the clownix guest agent writes "agent-ready NAME\n", see
//                       agent_protocol.h)
#ifndef CLOWNIX_VMM_MCONSOLE_WIRE_H_
#define CLOWNIX_VMM_MCONSOLE_WIRE_H_

#include <cstdint>

namespace clownix::vmm::mconsole_wire {

inline constexpr uint32_t kMagic = 0xcafebabe;
inline constexpr uint32_t kVersion = 2;
inline constexpr uint32_t kMaxData = 512;

struct Request {
  uint32_t magic;
  uint32_t version;
  uint32_t len;
  char data[kMaxData];
};
static_assert(sizeof(Request) == 12 + kMaxData);

struct Reply {
  int32_t err;
  int32_t more;
  uint32_t len;
  char data[kMaxData];
};
static_assert(sizeof(Reply) == 12 + kMaxData);

enum NotifyType : int32_t {
  kNotifySocket = 0,
  kNotifyPanic = 1,
  kNotifyHang = 2,
  kNotifyUser = 3,
};

struct Notify {
  uint32_t magic;
  int32_t version;
  int32_t type;
  int32_t len;
  char data[kMaxData];
};
static_assert(sizeof(Notify) == 16 + kMaxData);

}  // namespace clownix::vmm::mconsole_wire

#endif  // CLOWNIX_VMM_MCONSOLE_WIRE_H_
