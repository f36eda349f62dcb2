// Landlock (Linux 5.13 and later): an unprivileged process confines itself, and everything it
// execs, to the files it is given; the kernel refuses every other file access with EACCES,
// whatever the file's permissions say. Since ABI 4 it also refuses TCP bind and connect, and since
// ABI 6 signals to processes outside the confined ones. clownix confines each UML VM with it
// (vmm/vm_confinement.h), so that a guest's hostfs, or a UML kernel bug, reaches no host file.
//
// A ruleset is built in the parent, where allocation is allowed, and applied in the child just
// before exec (SpawnOptions::landlock_ruleset_fd): landlock_restrict_self is one system call.
#ifndef CLOWNIX_COMMON_LANDLOCK_H_
#define CLOWNIX_COMMON_LANDLOCK_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace clownix::common {

class LandlockRuleset {
 public:
  // What a rule allows beneath a path (or on a file: only the file rights of the set apply).
  enum class Access : uint64_t {
    kExecute = 1ULL << 0,
    kWriteFile = 1ULL << 1,
    kReadFile = 1ULL << 2,
    kReadDir = 1ULL << 3,
    kRemoveDir = 1ULL << 4,
    kRemoveFile = 1ULL << 5,
    kMakeDir = 1ULL << 7,
    kMakeReg = 1ULL << 8,
    kMakeSock = 1ULL << 9,
    kTruncate = 1ULL << 14,  // ABI 3
    kIoctlDev = 1ULL << 15,  // ABI 5
  };
  using AccessSet = uint64_t;
  static constexpr AccessSet Rights(std::initializer_list<Access> rights) {
    AccessSet set = 0;
    for (Access right : rights) set |= static_cast<AccessSet>(right);
    return set;
  }

  // The kernel's landlock ABI version; UNIMPLEMENTED when it has none (too old, or disabled:
  // the message says which), so callers can log what is not confined.
  static absl::StatusOr<int> KernelAbi();

  // A ruleset that handles every file access right the kernel knows (all refused until a rule
  // allows it), TCP bind and connect (ABI 4: always refused, no rule can allow them) and signals
  // to processes outside the domain (ABI 6). UNIMPLEMENTED without landlock.
  static absl::StatusOr<LandlockRuleset> Create();

  // Allows `rights` beneath `path` (a directory) or on `path` (a file: directory rights are
  // dropped). The path is resolved now (symbolic links followed). Errors: the path cannot be
  // opened (as errno maps it).
  absl::Status Allow(const std::string& path, AccessSet rights);

  int abi() const { return abi_; }
  // Passed to SpawnOptions::landlock_ruleset_fd; stays valid as long as this object.
  int fd() const { return fd_.get(); }

 private:
  LandlockRuleset(UniqueFd fd, int abi, uint64_t handled)
      : fd_(std::move(fd)), abi_(abi), handled_(handled) {}

  UniqueFd fd_;
  int abi_;
  uint64_t handled_;  // The file rights this ruleset handles.
};

}  // namespace clownix::common

#endif  // CLOWNIX_COMMON_LANDLOCK_H_
