// Host-side limits per VM, so that a fork bomb or a memory hog in one guest leaves the other VMs
// and clownixd responsive. Under UML every guest process is a host process (docs/uml-facts.md #4)
// and the guest's RAM is a shmem file charged to the memory cgroup of the process that touches
// it, so one cgroup per VM, holding linux.uml and everything it forks, bounds both.
//
// How it works. Create() looks once at what the machine allows, best first:
//   v2    the unified hierarchy, with the memory and pids controllers available in clownixd's own
//         cgroup D (read from /proc/self/cgroup). The "no internal processes" rule: to hand the
//         controllers down, D's processes move to the leaf D/clownixd first (only when D is not
//         the root and lacks them in cgroup.subtree_control).
//   v1    the memory and pids hierarchies, each with clownixd's own group in it.
//   none  neither: description() says why and what is not limited; clownixd logs it once.
// Per VM, Open() makes (or finds) the group OWN/clownix-HASH/VM in each hierarchy, HASH a short
// hash of the work dir so that several clownixd on one machine keep apart, and sets its limits
// (LimitsFor: memory with no swap, pids); clownix-HASH itself caps all VMs together at half the
// host's pid_max, so that the host can still fork when every guest runs a fork bomb. It keeps the
// groups' cgroup.procs files open: the launcher's child writes "0" into each
// (common::SpawnOptions::join_cgroup_fds) between fork and exec, so linux.uml and all it forks are
// limited from their first instruction. Remove() rmdirs the groups once the VM's processes are
// gone; after a clownixd restart, Adopt() finds a running VM's groups from its pid.
//
// Hierarchies are found through PROC/self/mountinfo and PROC/self/cgroup, PROC injectable: unit
// tests lay out a plain directory tree where cgroupfs would be. Writes open control files as a
// shell's `echo V > FILE` does (O_CREAT|O_TRUNC), which on cgroupfs is a plain open and in such a
// tree makes the file; nothing else differs.
#ifndef CLOWNIX_VMM_CGROUP_LIMITS_H_
#define CLOWNIX_VMM_CGROUP_LIMITS_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace clownix::vmm {
namespace cgroup_limits_internal {
struct Hierarchy;  // One cgroup hierarchy CgroupLimits uses (cgroup_limits.cc).
}  // namespace cgroup_limits_internal

struct CgroupLimitsOptions {
  std::string work_dir;  // clownixd's work dir: names this clownixd's groups (clownix-HASH).
  // Where self/mountinfo, self/cgroup, PID/cgroup and sys/kernel/pid_max are read.
  std::string proc = "/proc";
};

// Thread-safe: what Create found does not change.
class CgroupLimits {
 public:
  enum class Kind { kNone, kV1, kV2 };

  // What a VM's group may use.
  struct Limits {
    int64_t memory_bytes = 0;  // RAM, swap not allowed.
    int64_t pids = 0;          // Host tasks (processes and threads).
  };
  // The limits of a VM booted with mem=`mem_mib`M: guest RAM plus UML's own use plus page cache
  // room (the .cc says how it was measured). Pure.
  static Limits LimitsFor(int mem_mib);

  // What a VM's group has used, for stats.
  struct Usage {
    int64_t memory_bytes = 0;       // Now: guest RAM touched, UML, page cache, kernel memory.
    int64_t memory_peak_bytes = 0;  // High-water mark since the group was made (0: unknown).
    int64_t pids = 0;               // Host tasks now.
    int64_t pids_peak = 0;          // High-water mark of pids (0: unknown, older kernels).
    int64_t oom_kills = 0;          // Processes the kernel killed at the memory limit.
    int64_t pids_max_hits = 0;      // Forks refused at the pids limit.
  };

  // One VM's groups (one per hierarchy: two with v1, one with v2, none with Kind::kNone, where
  // every method is a no-op). Thread-safe; the descriptors stay open until it is destroyed.
  class VmGroup {
   public:
    ~VmGroup() = default;
    VmGroup(const VmGroup&) = delete;
    VmGroup& operator=(const VmGroup&) = delete;

    const std::string& vm() const { return vm_; }
    // The groups' directories (empty with Kind::kNone).
    const std::vector<std::string>& dirs() const { return dirs_; }

    // The open cgroup.procs files (write-only, close-on-exec), for the launcher's
    // common::SpawnOptions::join_cgroup_fds. Empty with Kind::kNone.
    const std::vector<int>& procs_fds() const { return fd_numbers_; }

    // Current use. NOT_FOUND once removed; FAILED_PRECONDITION with Kind::kNone; other errors of
    // reading the control files.
    absl::StatusOr<Usage> ReadUsage() const;

    // rmdir of the groups: OK when they are gone (or never existed); FAILED_PRECONDITION while a
    // process is still in one (the VM has not fully exited: kill and wait for its process group,
    // then call again); other errors as rmdir reports them.
    absl::Status Remove() const;

   private:
    friend class CgroupLimits;
    VmGroup(std::string vm, Kind kind, std::vector<std::string> dirs,
            std::vector<common::UniqueFd> fds);

    std::string vm_;
    Kind kind_;
    std::vector<std::string> dirs_;  // v1: memory's, then pids'.
    std::vector<common::UniqueFd> fds_;
    std::vector<int> fd_numbers_;
  };

  // Looks at the machine (never fails for lack of cgroups: that is Kind::kNone with the reason
  // in description()). INVALID_ARGUMENT: empty work_dir. Makes the clownix-HASH groups.
  static absl::StatusOr<std::unique_ptr<CgroupLimits>> Create(CgroupLimitsOptions options);

  // Removes the clownix-HASH groups if no VM group is left in them (errors ignored: a group in
  // use stays, which is what adoption after a restart needs).
  ~CgroupLimits();

  Kind kind() const { return kind_; }
  // One line for clownixd's log: where the VMs' groups are and what they limit, or why VMs are
  // not limited and what that leaves open.
  const std::string& description() const { return description_; }

  // Makes the VM's groups, or opens them if they exist, sets LimitsFor(mem_mib) and opens their
  // cgroup.procs. Call before launching the VM; pass procs_fds() to the launcher's child.
  // INVALID_ARGUMENT: a bad VM name or mem; other errors of mkdir and the control files (the VM
  // would run unlimited: do not start it).
  absl::StatusOr<std::unique_ptr<VmGroup>> Open(absl::string_view vm, int mem_mib) const;

  // After a clownixd restart: the groups VM `vm`, whose main process is `pid`, runs in (read from
  // PROC/PID/cgroup), as they are (limits untouched). They may lie under another clownix-HASH
  // parent than Open's if clownixd now runs in another cgroup. NOT_FOUND when `pid` is gone or
  // is not in groups made for `vm` by a clownixd with this work dir (say, it was started while
  // cgroups were unavailable): it runs unlimited until it is started again. A no-op group with
  // Kind::kNone.
  absl::StatusOr<std::unique_ptr<VmGroup>> Adopt(absl::string_view vm, pid_t pid) const;

 private:
  using Hierarchy = cgroup_limits_internal::Hierarchy;

  CgroupLimits(CgroupLimitsOptions options, std::string group_name, Kind kind,
               std::vector<Hierarchy> hierarchies, std::string description);
  absl::StatusOr<std::unique_ptr<VmGroup>> OpenDirs(absl::string_view vm,
                                                    std::vector<std::string> dirs) const;

  const CgroupLimitsOptions options_;
  const std::string group_name_;  // clownix-HASH.
  const Kind kind_;
  const std::vector<Hierarchy> hierarchies_;
  const std::string description_;
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_CGROUP_LIMITS_H_
