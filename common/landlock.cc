#include "common/landlock.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace clownix::common {
namespace {

// The attribute as ABI 6 knows it; older kernels take the prefix their ABI knows (its size tells
// them which). Debian bookworm's headers stop at ABI 2, hence this copy.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI 4
  uint64_t scoped;              // ABI 6
};
constexpr uint64_t kNetBindTcp = 1ULL << 0;
constexpr uint64_t kNetConnectTcp = 1ULL << 1;
constexpr uint64_t kScopeSignal = 1ULL << 1;

// Every file right of each ABI: 1 has 13 (EXECUTE..MAKE_SYM), 2 adds REFER, 3 TRUNCATE, 5
// IOCTL_DEV.
uint64_t HandledFileRights(int abi) {
  uint64_t rights = (1ULL << 13) - 1;
  if (abi >= 2) rights |= 1ULL << 13;
  if (abi >= 3) rights |= 1ULL << 14;
  if (abi >= 5) rights |= 1ULL << 15;
  return rights;
}

// The rights a rule on a file (not a directory) may hold.
constexpr uint64_t kFileOnlyRights =
    (1ULL << 0) | (1ULL << 1) | (1ULL << 2) | (1ULL << 14) | (1ULL << 15);

}  // namespace

absl::StatusOr<int> LandlockRuleset::KernelAbi() {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi >= 1) return static_cast<int>(abi);
  if (errno == ENOSYS) {
    return absl::UnimplementedError("landlock: this kernel has no landlock (Linux 5.13 or later)");
  }
  if (errno == EOPNOTSUPP) {
    return absl::UnimplementedError(
        "landlock: disabled in this kernel (add landlock to the lsm= boot parameter)");
  }
  return absl::ErrnoToStatus(errno, "landlock_create_ruleset");
}

absl::StatusOr<LandlockRuleset> LandlockRuleset::Create() {
  absl::StatusOr<int> abi = KernelAbi();
  if (!abi.ok()) return abi.status();
  RulesetAttr attr = {};
  attr.handled_access_fs = HandledFileRights(*abi);
  size_t size = sizeof(attr.handled_access_fs);
  if (*abi >= 4) {
    attr.handled_access_net = kNetBindTcp | kNetConnectTcp;
    size = offsetof(RulesetAttr, scoped);
  }
  if (*abi >= 6) {
    attr.scoped = kScopeSignal;
    size = sizeof(attr);
  }
  UniqueFd fd(static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, size, 0)));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "landlock_create_ruleset");
  return LandlockRuleset(std::move(fd), *abi, attr.handled_access_fs);
}

absl::Status LandlockRuleset::Allow(const std::string& path, AccessSet rights) {
  UniqueFd target(open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!target.valid()) return absl::ErrnoToStatus(errno, absl::StrCat("landlock: open ", path));
  struct stat st;
  if (fstat(target.get(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("landlock: stat ", path));
  }
  if (!S_ISDIR(st.st_mode)) rights &= kFileOnlyRights;
  struct landlock_path_beneath_attr rule = {};
  rule.allowed_access = rights & handled_;
  rule.parent_fd = target.get();
  if (syscall(SYS_landlock_add_rule, fd_.get(), LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("landlock: rule for ", path));
  }
  return absl::OkStatus();
}

}  // namespace clownix::common
