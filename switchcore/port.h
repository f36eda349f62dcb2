// Port: one attachment point of a LAN, a VM (daemon transport) or a host tap, with everything the
// forwarding path needs preallocated: the transmit batch built during one receive round (iovecs
// pointing at the received frames, sent with one sendmmsg), and a bounded backlog of frames that
// met a full receiver (frame-pool indexes in a ring, drained on EPOLLOUT).
#ifndef CLOWNIX_SWITCHCORE_PORT_H_
#define CLOWNIX_SWITCHCORE_PORT_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>

#include "switchcore/ctl/ctl_layout.h"
#include "switchcore/daemon_protocol.h"
#include "switchcore/impairment.h"
#include "switchcore/tap_device.h"

namespace clownix::switchcore {

class Lan;

class Port {
 public:
  static constexpr int kBatch = 64;
  static constexpr int kBacklog = 256;

  Port(uint64_t id, ctl::PortKind kind, Lan* lan) : id_(id), kind_(kind), lan_(lan) {}
  ~Port();
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  uint64_t id() const { return id_; }
  ctl::PortKind kind() const { return kind_; }
  Lan* lan() const { return lan_; }

  // Index in the LAN's port table (what the MAC table stores).
  int index = -1;
  // Data socket (VM: bound to the switch's per-port address, connected to the VM's) or tap fd.
  int fd = -1;
  // The VM's control stream, -1 for taps and restored ports.
  int ctl_fd = -1;
  DataAddress vm_address{};
  std::unique_ptr<TapDevice> tap;
  uint8_t mac[6] = {0, 0, 0, 0, 0, 0};
  bool mac_known = false;
  int counters_slot = -1;
  ctl::PortCounters* counters = nullptr;
  Impairment impairment[2];  // indexed by ctl::Direction

  // Transmit batch of the current round.
  int tx_count = 0;
  bool dirty = false;
  struct mmsghdr tx_msgs[kBatch];
  struct iovec tx_iov[kBatch];

  // Backlog: pool frames waiting for room at the receiver.
  int32_t backlog[kBacklog];
  int backlog_head = 0;
  int backlog_count = 0;
  bool epollout_armed = false;

  bool removing = false;
  // Captures bound to this port (what the egress path checks).
  int captures = 0;

 private:
  uint64_t id_;
  ctl::PortKind kind_;
  Lan* lan_;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_PORT_H_
