// VmConfinement: what keeps a guest inside its VM on the host (docs/security.md). Each UML
// process
//   - runs as a user and group of its own, base + VM number, with no supplementary groups, no
//     capabilities and no_new_privs; what it needs belongs to that user and to no other: its
//     directory vms/NAME (0700), its entry in uml/ (made by UML, 0700), the directory of its
//     memory file (/dev/shm/clownix.HASH/NAME, 0700);
//   - is confined with landlock (common/landlock.h) to exactly those, plus the kernel, the
//     libraries it loads, the preload and the read-only root_fs: UML's hostfs, pinned with
//     hostfs= to an empty directory, reaches nothing else, not even through "..", and neither
//     would code running in the UML process after a kernel bug; it cannot open TCP connections
//     nor signal processes outside its VM;
//   - is in host cgroups of its own with memory and task limits (cgroup_limits.h), so that a fork
//     bomb or a memory hog in a guest starves neither the host nor the other VMs;
//   - is the first the kernel's OOM killer picks (oom_score_adj), before clownixd and the switch.
// What the host does not allow (clownixd not root, or in a user namespace; no landlock; no
// writable cgroups) is said
// once in warnings() and left out; the rest still applies.
#ifndef CLOWNIX_VMM_VM_CONFINEMENT_H_
#define CLOWNIX_VMM_VM_CONFINEMENT_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/landlock.h"
#include "common/subprocess.h"
#include "vmm/cgroup_limits.h"

namespace clownix::vmm {

struct ConfinementPolicy {
  // VM n runs as user and group vm_uid_base + n (n is 1..9999); 0: as clownixd's own user.
  uint32_t vm_uid_base = 0;
  // Confine each VM with landlock where the kernel has it.
  bool landlock = true;
  // Lay out each UML process's address space at random (ASLR). Off by default: UML maps its
  // guest's memory and kernel at addresses that then vary from boot to boot, and the page tables
  // over the spread-out layout cost a guest 9-17 MiB of its RAM (measured with the debian image at
  // mem=64M: 39 vs 30 MiB PSS idle; an OSPF router fits in 64M only without it;
  // docs/benchmarks/vmm.md). What it would protect, the UML process against a guest that exploits
  // a bug of the UML kernel, is confined anyway (its own user, landlock, cgroups); see
  // docs/security.md.
  bool address_randomization = false;
};

// Over 0 (the default of every process) so that under memory pressure a VM is killed, and
// reported crashed, before the control plane.
inline constexpr int kVmOomScoreAdj = 800;

class VmConfinement {
 public:
  // The files every VM uses, as VmManager was given them.
  struct Files {
    std::string work_dir;  // Absolute, normalized.
    std::string kernel;
    std::string root_fs;
    std::string preload;  // "" none.
    bool root_fs_mode = false;
  };

  // Finds out what this host allows (switching users: a trial spawn; landlock: its ABI), makes
  // the shared directories (uml/ sticky and open to the VM users, the empty hostfs root, the
  // memory directories' parent), and gives the VM users a way to the files: one a VM user could
  // not read where it is (under /root, say) is linked, or copied, into WORK_DIR/staged/. Errors:
  // a directory or a staged file that cannot be made.
  static absl::StatusOr<std::unique_ptr<VmConfinement>> Create(const ConfinementPolicy& policy,
                                                               const Files& files);

  // Removes the memory directories' parent if no VM runs any more (the VMs that still run keep
  // theirs, for a later clownixd to adopt).
  ~VmConfinement();

  // What is not confined on this host, one sentence each (empty: everything is).
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Where the VMs' cgroups are and what they limit, or why there are none (one line).
  const std::string& cgroup_description() const { return cgroups_->description(); }
  // The files to give UML: the originals, or their staged copies.
  const Files& files() const { return files_; }
  // hostfs= of every VM: an empty directory that belongs to root.
  std::string hostfs_root() const { return files_.work_dir + "/hostfs"; }
  // Whether process `pid` runs as a user a VM of this clownixd may run as: clownixd's own, or one
  // of the VM users. uml/ is open to those users (sticky, like /tmp), so a pid file found there
  // is believed only for such a process: another user of the host cannot pass off a process of
  // theirs as a VM (to block its name, or to have clownixd adopt and kill it).
  bool MayBeAVm(pid_t pid) const;
  // The path at which the VM users can read the image `root_fs` (another than files().root_fs):
  // the file itself, or a link to it or a copy of it in WORK_DIR/staged/, named after its
  // canonical path, made once. NOT_FOUND: no such file; other errors as staging's.
  absl::StatusOr<std::string> ReachableImage(const std::string& root_fs);
  // The user VM `number` runs as; nullopt: clownixd's.
  std::optional<common::SpawnOptions::Credentials> UserOf(int number) const;

  struct Prepared {
    std::optional<common::SpawnOptions::Credentials> run_as;
    std::optional<common::LandlockRuleset> ruleset;  // nullopt: no landlock here.
    std::string tmp_dir;                             // TMPDIR: where UML keeps its memory file.
    // cgroup.procs of its groups, for the launcher's child to join; valid until Release.
    std::vector<int> join_cgroup_fds;
  };
  // Before VM `name` (number `number`, `mem_mib` of RAM, booting the image `root_fs`: files() or
  // ReachableImage's) boots: gives its directory and the files clownixd made in it
  // (`owned_files`, e.g. the config disk, the notify socket) to its user, makes its memory
  // directory and its cgroups, and builds its ruleset. Errors: as errno maps them, naming the
  // path; a VM whose limits cannot be set is not to be started.
  absl::StatusOr<Prepared> Prepare(const std::string& name, int number, int mem_mib,
                                   const std::string& root_fs, const std::string& vm_dir,
                                   const std::vector<std::string>& owned_files);
  // After a clownixd restart, for a running VM: takes its cgroups over, so that Release removes
  // them. NOT_FOUND: it runs in none of this work dir's groups (it runs unlimited until its next
  // start).
  absl::Status Adopt(const std::string& name, pid_t pid);
  // After VM `name` ended and its processes are gone: removes its cgroups and its memory
  // directory (empty by then: UML unlinks its file).
  absl::Status Release(const std::string& name);
  // What VM `name`'s cgroups count now (memory, tasks, OOM kills). NOT_FOUND: it has none (not
  // running, or adopted from a clownixd that could not limit it); FAILED_PRECONDITION: this host
  // has no cgroups; other errors of reading their files.
  absl::StatusOr<CgroupLimits::Usage> Usage(const std::string& name);

 private:
  VmConfinement(const ConfinementPolicy& policy, Files files) : policy_(policy), files_(files) {}
  std::string TmpDir(const std::string& name) const { return tmp_root_ + "/" + name; }

  ConfinementPolicy policy_;
  Files files_;
  bool switch_users_ = false;
  bool use_landlock_ = false;
  std::string tmp_root_;                // /dev/shm/clownix.HASH
  std::vector<std::string> libraries_;  // What the kernel (with the preload) loads.
  std::vector<std::string> warnings_;
  std::unique_ptr<CgroupLimits> cgroups_;
  absl::Mutex mu_;
  // Shared: Usage reads a group's files without mu_ held while Release may take it away.
  absl::flat_hash_map<std::string, std::shared_ptr<CgroupLimits::VmGroup>> groups_
      ABSL_GUARDED_BY(mu_);
  // ReachableImage's answers, by canonical path. Staging a copy is slow (a whole image) and done
  // under the lock: two VMs on one new image must not both copy it.
  absl::Mutex images_mu_;
  absl::flat_hash_map<std::string, std::string> images_ ABSL_GUARDED_BY(images_mu_);
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_VM_CONFINEMENT_H_
