// PeerPolicy: who may open a control connection to a LAN. The LAN control sockets are
// world-connectable (mode 0666: each UML VM runs as its own unprivileged uid, and those uids have
// nothing else in common), so the switch decides on the connecting process's credentials
// (SO_PEERCRED, taken by the kernel at connect time, not forgeable): root, the switch's own uid
// (clownixd's, which started it) and the uids of clownix's VMs (a configured range) are accepted;
// anyone else is closed at once, before a handshake slot is spent on them.
//
// Refusals are counted, and logged once per uid: a set of refused uids (bounded: kRememberedUids,
// then one line saying further uids go unlogged) keeps a connection flood from one user, or from
// many, from flooding the log or growing memory.
#ifndef CLOWNIX_SWITCHCORE_PEER_POLICY_H_
#define CLOWNIX_SWITCHCORE_PEER_POLICY_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::switchcore {

// Uids [first, last], both included.
struct UidRange {
  uint32_t first = 0;
  uint32_t last = 0;
};

// The credentials of a connected unix stream socket's peer.
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

class PeerPolicy {
 public:
  static constexpr int kRememberedUids = 1024;

  // INVALID_ARGUMENT unless 0 < first <= last < 2^32 - 1 (a VM range never holds root, and
  // (uid_t)-1 is no uid).
  static absl::Status ValidateRange(const UidRange& range);

  // `self`: the switch's effective uid. Without `vm_uids`, only root and `self` are accepted.
  // The range must have passed ValidateRange.
  PeerPolicy(uid_t self, std::optional<UidRange> vm_uids) : self_(self), vm_uids_(vm_uids) {}

  // SO_PEERCRED of `fd`. INTERNAL if the kernel does not say (then the peer is refused).
  static absl::StatusOr<PeerCredentials> Credentials(int fd);

  // Whether a process running as `uid` may open a control connection.
  bool Allows(uid_t uid) const;
  // Root and the switch's own uid: trusted to name any data address (a filesystem socket too);
  // VMs' uids may name only abstract ones (what UML uses), so the switch, running as root, never
  // connects to a filesystem socket on their behalf.
  bool Privileged(uid_t uid) const { return uid == 0 || uid == self_; }

  // Counts one refused connection from `peer` (nullopt: credentials unknown) on LAN `lan`.
  // Returns the line to log if this refusal deserves one: the first of each uid, and once a line
  // saying that further uids are not logged when kRememberedUids distinct uids were refused.
  std::optional<std::string> OnRefused(const std::optional<PeerCredentials>& peer,
                                       absl::string_view lan);
  uint64_t refused() const { return refused_; }
  // Who is accepted, for log lines: "root, uid 1000 and VM uids 61000-61099".
  std::string Describe() const;

 private:
  uid_t self_;
  std::optional<UidRange> vm_uids_;
  uint64_t refused_ = 0;
  absl::flat_hash_set<uid_t> logged_;
  bool overflow_logged_ = false;
};

}  // namespace clownix::switchcore

#endif  // CLOWNIX_SWITCHCORE_PEER_POLICY_H_
