#include "switchcore/peer_policy.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace clownix::switchcore {

absl::Status PeerPolicy::ValidateRange(const UidRange& range) {
  if (range.first == 0 || range.first > range.last || range.last == UINT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("VM uid range ", range.first, "-", range.last,
                     " must have 0 < first <= last < 4294967295 (a VM never runs as root)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PeerCredentials> PeerPolicy::Credentials(int fd) {
  struct ucred cred = {};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
    return absl::InternalError(absl::StrCat("SO_PEERCRED: ", strerror(errno)));
  }
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

bool PeerPolicy::Allows(uid_t uid) const {
  if (Privileged(uid)) return true;
  return vm_uids_.has_value() && uid >= vm_uids_->first && uid <= vm_uids_->last;
}

std::string PeerPolicy::Describe() const {
  std::string out = self_ == 0 ? "root" : absl::StrCat("root, uid ", self_);
  if (vm_uids_.has_value()) {
    absl::StrAppend(&out, " and VM uids ", vm_uids_->first, "-", vm_uids_->last);
  }
  return out;
}

std::optional<std::string> PeerPolicy::OnRefused(const std::optional<PeerCredentials>& peer,
                                                 absl::string_view lan) {
  ++refused_;
  uid_t key = peer.has_value() ? peer->uid : static_cast<uid_t>(-1);
  if (logged_.contains(key)) return std::nullopt;
  if (logged_.size() >= kRememberedUids) {
    if (overflow_logged_) return std::nullopt;
    overflow_logged_ = true;
    return absl::StrCat("control connections refused from ", kRememberedUids,
                        " different uids; refusals from further uids are counted, not logged");
  }
  logged_.insert(key);
  std::string who = peer.has_value() ? absl::StrCat("uid ", peer->uid, " (pid ", peer->pid, ")")
                                     : "a peer whose credentials are unknown";
  return absl::StrCat("lan \"", lan, "\": control connection from ", who, " refused: only ",
                      Describe(),
                      " may connect; further refusals of this uid are counted, not logged");
}

}  // namespace clownix::switchcore
