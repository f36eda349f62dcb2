// Lan: one emulated LAN. Owns its control socket (a listening unix stream socket at
// WORK_DIR/lans/<name>/ctl, removed again on destruction), the handshakes in progress on it, its
// MAC table and its port table (fixed size; a slot holds a Port* or nullptr). Ports themselves are
// owned by the SwitchEngine.
#ifndef CLOWNIX_SWITCHCORE_LAN_H_
#define CLOWNIX_SWITCHCORE_LAN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "switchcore/ctl/capture_layout.h"
#include "switchcore/ctl/ctl_layout.h"
#include "switchcore/handshake.h"
#include "switchcore/mac_table.h"

namespace clownix::switchcore {

class CaptureWriter;
class Port;

class Lan {
 public:
  struct Limits {
    int max_ports = 256;
    int max_handshakes = 32;  // connections that have not finished the request yet
    int mac_capacity = 4096;
    int macs_per_port = 1024;
    int64_t mac_aging_ns = 300ll * 1000 * 1000 * 1000;
  };

  // Creates WORK_DIR/lans/<name>/ and listens on its `ctl` (a stale socket file is replaced).
  // Modes: lans/ and lans/<name>/ 0711, ctl 0666, so that VMs running as other uids can connect
  // (who may join is checked on connection, PeerPolicy).
  // INVALID_ARGUMENT for a bad name; INTERNAL/FAILED_PRECONDITION if the socket cannot be made.
  static absl::StatusOr<std::unique_ptr<Lan>> Create(uint64_t id, absl::string_view work_dir,
                                                     absl::string_view name, ctl::LanMode mode,
                                                     const Limits& limits);
  static absl::Status ValidateName(absl::string_view name);
  ~Lan();

  uint64_t id() const { return id_; }
  const std::string& name() const { return name_; }
  ctl::LanMode mode() const { return mode_; }
  int listen_fd() const { return listen_fd_; }
  const std::string& ctl_path() const { return ctl_path_; }
  MacTable& macs() { return macs_; }
  const Limits& limits() const { return limits_; }

  // Port table.
  int AddPort(Port* port);  // slot index, or -1 when full
  void RemovePort(int index);
  Port* port(int index) const { return ports_[index]; }
  // The ports in use, compact (for flooding).
  const std::vector<Port*>& active() const { return active_; }
  int port_count() const { return static_cast<int>(active_.size()); }

  // The captures running on this LAN (the engine owns them; room for every slot is reserved).
  std::vector<CaptureWriter*>& captures() { return captures_; }
  bool has_captures() const { return !captures_.empty(); }

  // Handshakes in progress, keyed by an id unique in the engine.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Handshake>>& handshakes() { return handshakes_; }

 private:
  Lan(uint64_t id, std::string name, ctl::LanMode mode, const Limits& limits)
      : id_(id),
        name_(std::move(name)),
        mode_(mode),
        limits_(limits),
        macs_(limits.mac_capacity, limits.max_ports, limits.macs_per_port, limits.mac_aging_ns),
        ports_(limits.max_ports, nullptr) {
    active_.reserve(limits.max_ports);
    captures_.reserve(ctl::kCaptureSlots);
  }

  uint64_t id_;
  std::string name_;
  ctl::LanMode mode_;
  Limits limits_;
  MacTable macs_;
  std::vector<Port*> ports_;
  std::vector<Port*> active_;
  std::vector<CaptureWriter*> captures_;
  int listen_fd_ = -1;
  std::string dir_;
  std::string ctl_path_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Handshake>> handshakes_;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_LAN_H_
