#include "vmm/vm_confinement.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/seed_rules.h"
#include "common/unique_fd.h"

namespace clownix::vmm {
namespace {

namespace fs = std::filesystem;
using Access = common::LandlockRuleset::Access;
using common::LandlockRuleset;

// Rights of a VM in its own directory: read and write its files, create its COW file; neither
// remove nor rename anything (clownixd's own files there, the spec above all, stay clownixd's).
constexpr LandlockRuleset::AccessSet kVmDirRights = LandlockRuleset::Rights(
    {Access::kReadFile, Access::kWriteFile, Access::kReadDir, Access::kMakeReg, Access::kTruncate});
// In uml/: UML makes uml/NAME with its pid file and mconsole socket, and removes them at exit.
constexpr LandlockRuleset::AccessSet kUmlDirRights = LandlockRuleset::Rights(
    {Access::kReadFile, Access::kWriteFile, Access::kReadDir, Access::kMakeDir, Access::kMakeReg,
     Access::kMakeSock, Access::kRemoveDir, Access::kRemoveFile, Access::kTruncate});
// In its memory directory: the file UML makes, maps and unlinks at once.
constexpr LandlockRuleset::AccessSet kTmpDirRights =
    LandlockRuleset::Rights({Access::kReadFile, Access::kWriteFile, Access::kReadDir,
                             Access::kMakeReg, Access::kRemoveFile, Access::kTruncate});
constexpr LandlockRuleset::AccessSet kExecutable =
    LandlockRuleset::Rights({Access::kExecute, Access::kReadFile});

absl::Status ErrorAt(const std::string& what, const std::string& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path));
}

absl::Status MakeDirectory(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return ErrorAt("mkdir", path);
  // chmod, because mkdir's mode goes through the umask and an existing directory keeps its own.
  if (chmod(path.c_str(), mode) != 0) return ErrorAt("chmod", path);
  return absl::OkStatus();
}

// Whether a user that is neither the owner nor in the group can reach `path` with `needed`
// (S_IROTH, S_IXOTH) on the file and search every directory on the way.
// The first directory above `path` that users other than its owner and group cannot search
// (one that cannot be read counts too), or "" when there is none.
std::string UnsearchableParent(const std::string& path) {
  for (fs::path dir = fs::path(path).parent_path(); !dir.empty(); dir = dir.parent_path()) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) return dir.string();
    if (dir == dir.root_path()) break;
  }
  return "";
}

bool OthersCanReach(const std::string& path, mode_t needed) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || (st.st_mode & needed) != needed) return false;
  return UnsearchableParent(path).empty();
}

// `path` itself if the VM users can reach it, else a link to it (or, across file systems or
// when the file is not readable by others, a copy) at `staged` with mode `mode`.
absl::StatusOr<std::string> StageForOthers(const std::string& given, const std::string& staged,
                                           mode_t mode) {
  // The file itself, not a symbolic link to it (bazel's runfiles are links into its cache):
  // link() would link the symbolic link, which the VM users cannot follow.
  std::error_code ec;
  const std::string path = fs::canonical(given, ec).string();
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("resolve ", given));
  const mode_t needed = S_IROTH | ((mode & S_IXOTH) ? S_IXOTH : 0);
  if (OthersCanReach(path, needed)) return path;
  fs::remove(staged, ec);
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & needed) == needed &&
      link(path.c_str(), staged.c_str()) == 0) {
    return staged;
  }
  const std::string partial = staged + ".tmp";
  fs::copy_file(path, partial, fs::copy_options::overwrite_existing, ec);
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("copy ", path, " to ", partial));
  if (chmod(partial.c_str(), mode) != 0) return ErrorAt("chmod", partial);
  if (rename(partial.c_str(), staged.c_str()) != 0) return ErrorAt("rename", partial);
  return staged;
}

// The shared libraries `kernel` loads with `preload` preloaded, as ldd lists them: lines
// "NAME => PATH (ADDRESS)" and the loader's "PATH (ADDRESS)". None for a static kernel.
absl::StatusOr<std::vector<std::string>> LibrariesOf(const std::string& kernel,
                                                     const std::string& preload) {
  common::SpawnOptions options;
  options.argv = {"ldd", kernel};
  options.env = std::vector<std::string>{"PATH=/usr/bin:/bin"};
  if (!preload.empty()) options.env->push_back("LD_PRELOAD=" + preload);
  absl::StatusOr<common::RunResult> listed = common::Run(options, 64 << 10, absl::Seconds(30));
  if (!listed.ok()) return listed.status();
  if (!listed->succeeded()) {
    if (absl::StrContains(listed->output, "not a dynamic executable")) {
      return std::vector<std::string>{};
    }
    return absl::UnavailableError(absl::StrCat("ldd ", kernel, " ",
                                               common::DescribeWaitStatus(listed->wait_status),
                                               ": ", listed->output));
  }
  std::vector<std::string> libraries;
  for (absl::string_view line : absl::StrSplit(listed->output, '\n', absl::SkipWhitespace())) {
    line = absl::StripAsciiWhitespace(line);
    if (size_t arrow = line.find("=> "); arrow != absl::string_view::npos) {
      line.remove_prefix(arrow + 3);
    }
    if (!absl::StartsWith(line, "/")) continue;  // linux-vdso.so.1, which is no file.
    libraries.emplace_back(line.substr(0, line.find(" (")));
  }
  return libraries;
}

// Whether this process can start another as `who` (not when it is not root, nor in a user
// namespace that maps root alone, such as bazel's sandbox): the trial is the answer.
absl::Status TrySwitchingUser(const common::SpawnOptions::Credentials& who) {
  common::SpawnOptions trial;
  trial.argv = {"/bin/true"};
  trial.run_as = who;
  trial.no_new_privs = true;
  absl::StatusOr<common::RunResult> ran = common::Run(trial, 0, absl::Seconds(10));
  if (!ran.ok()) return ran.status();
  if (!ran->succeeded()) {
    return absl::UnavailableError(common::DescribeWaitStatus(ran->wait_status));
  }
  return absl::OkStatus();
}

uint64_t Fnv1a(absl::string_view text) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ULL;
  return hash;
}

}  // namespace

absl::StatusOr<std::unique_ptr<VmConfinement>> VmConfinement::Create(
    const ConfinementPolicy& policy, const Files& files) {
  std::unique_ptr<VmConfinement> confinement(new VmConfinement(policy, files));
  VmConfinement& c = *confinement;
  const std::string& work = files.work_dir;

  if (policy.vm_uid_base != 0) {
    if (files.root_fs_mode) {
      c.warnings_.push_back(
          "root_fs mode: the VM runs as clownixd's user, since it writes into the root_fs");
    } else if (geteuid() != 0) {
      c.warnings_.push_back(absl::StrCat("clownixd is not root: VMs run as its user (uid ",
                                         geteuid(), "), not one user each"));
    } else if (absl::Status tried =
                   TrySwitchingUser({policy.vm_uid_base + 1, policy.vm_uid_base + 1});
               !tried.ok()) {
      c.warnings_.push_back(absl::StrCat("clownixd cannot switch users here (", tried.message(),
                                         "; a user namespace?): VMs run as its user"));
    } else {
      c.switch_users_ = true;
    }
  }
  if (policy.landlock) {
    absl::StatusOr<int> abi = LandlockRuleset::KernelAbi();
    if (abi.ok()) {
      c.use_landlock_ = true;
    } else {
      c.warnings_.push_back(absl::StrCat(
          abi.status().message(),
          ": VMs are not confined to their files; hostfs is pinned to an empty directory, which "
          "a guest can leave with \"..\" to read what its user may read on the host"));
    }
  }

  absl::StatusOr<std::unique_ptr<CgroupLimits>> cgroups = CgroupLimits::Create({work});
  if (!cgroups.ok()) return cgroups.status();
  c.cgroups_ = std::move(*cgroups);
  if (c.cgroups_->kind() == CgroupLimits::Kind::kNone) {
    c.warnings_.push_back(c.cgroups_->description());
  }

  // The way to every VM's files: the work dir and vms/ are searchable, not listable; uml/ is
  // like /tmp (each VM's UML makes its own entry, nobody removes another's).
  if (c.switch_users_) {
    if (const std::string dir = UnsearchableParent(work); !dir.empty()) {
      struct stat st = {};
      stat(dir.c_str(), &st);  // Only for the message: a failure shows mode 0.
      return absl::FailedPreconditionError(absl::StrFormat(
          "VM users cannot reach the work dir %s: %s is not searchable by others (mode %o); "
          "choose a work dir they can reach (under /tmp or /var/lib), or --vm_uid_base=0",
          work, dir, st.st_mode & 07777));
    }
  }
  const mode_t shared = c.switch_users_ ? 0711 : 0700;
  if (absl::Status s = MakeDirectory(work, shared); !s.ok()) return s;
  if (absl::Status s = MakeDirectory(work + "/vms", shared); !s.ok()) return s;
  if (absl::Status s = MakeDirectory(work + "/uml", c.switch_users_ ? 01733 : 0700); !s.ok()) {
    return s;
  }
  if (absl::Status s = MakeDirectory(c.hostfs_root(), 0555); !s.ok()) return s;

  std::error_code ec;
  c.tmp_root_ = fs::is_directory("/dev/shm", ec)
                    ? absl::StrFormat("/dev/shm/clownix.%016x", Fnv1a(work))
                    : work + "/mem";
  if (absl::Status s = MakeDirectory(c.tmp_root_, shared); !s.ok()) return s;

  if (c.switch_users_) {
    const std::string staged = work + "/staged";
    if (absl::Status s = MakeDirectory(staged, 0711); !s.ok()) return s;
    for (auto [path, name, mode] : {std::tuple{&c.files_.kernel, "kernel", mode_t{0555}},
                                    std::tuple{&c.files_.root_fs, "root_fs", mode_t{0444}},
                                    std::tuple{&c.files_.preload, "preload.so", mode_t{0444}}}) {
      if (path->empty()) continue;
      absl::StatusOr<std::string> reachable = StageForOthers(*path, staged + "/" + name, mode);
      if (!reachable.ok()) return reachable.status();
      *path = *reachable;
    }
  }
  if (c.use_landlock_) {
    // A kernel that is a script (a wrapper around linux.uml, say) runs programs nobody can list
    // beforehand: no rules can be written for it.
    char start[2] = {};
    common::UniqueFd kernel(open(c.files_.kernel.c_str(), O_RDONLY | O_CLOEXEC));
    if (!kernel.valid()) return ErrorAt("open", c.files_.kernel);
    if (read(kernel.get(), start, sizeof(start)) == 2 && start[0] == '#' && start[1] == '!') {
      c.use_landlock_ = false;
      c.warnings_.push_back(absl::StrCat("the kernel ", files.kernel,
                                         " is a script, whose programs cannot be known: VMs are "
                                         "not confined with landlock"));
    }
  }
  if (c.use_landlock_) {
    absl::StatusOr<std::vector<std::string>> libraries =
        LibrariesOf(c.files_.kernel, c.files_.preload);
    if (!libraries.ok()) return libraries.status();
    c.libraries_ = std::move(*libraries);
  }
  return confinement;
}

VmConfinement::~VmConfinement() {
  // ENOTEMPTY while a VM runs: the directory is then its and a later clownixd's.
  if (!tmp_root_.empty()) rmdir(tmp_root_.c_str());
}

bool VmConfinement::MayBeAVm(pid_t pid) const {
  // /proc/PID belongs to the process's effective user.
  struct stat st;
  if (stat(absl::StrCat("/proc/", pid).c_str(), &st) != 0) return false;
  if (st.st_uid == geteuid()) return true;
  const uint64_t base = policy_.vm_uid_base;
  return base != 0 && st.st_uid >= base + common::kMinVmNumber &&
         st.st_uid <= base + common::kMaxVmNumber;
}

std::optional<common::SpawnOptions::Credentials> VmConfinement::UserOf(int number) const {
  if (!switch_users_) return std::nullopt;
  const uint32_t id = policy_.vm_uid_base + static_cast<uint32_t>(number);
  return common::SpawnOptions::Credentials{id, id};
}

absl::StatusOr<std::string> VmConfinement::ReachableImage(const std::string& root_fs) {
  std::error_code ec;
  const std::string path = fs::canonical(root_fs, ec).string();
  if (ec || !fs::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat("image file ", root_fs, " is not a file"));
  }
  if (!switch_users_) return path;
  absl::MutexLock lock(&images_mu_);
  auto [it, inserted] = images_.try_emplace(path);
  if (!inserted) return it->second;
  absl::StatusOr<std::string> reachable = StageForOthers(
      path, absl::StrFormat("%s/staged/image.%016x", files_.work_dir, Fnv1a(path)), 0444);
  if (!reachable.ok()) {
    images_.erase(it);
    return reachable.status();
  }
  it->second = *reachable;
  return it->second;
}

absl::StatusOr<VmConfinement::Prepared> VmConfinement::Prepare(
    const std::string& name, int number, int mem_mib, const std::string& root_fs,
    const std::string& vm_dir, const std::vector<std::string>& owned_files) {
  Prepared prepared;
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> group = cgroups_->Open(name, mem_mib);
  if (!group.ok()) return group.status();
  prepared.join_cgroup_fds = (*group)->procs_fds();
  {
    absl::MutexLock lock(&mu_);
    groups_[name] = std::move(*group);
  }
  prepared.run_as = UserOf(number);
  prepared.tmp_dir = TmpDir(name);
  std::error_code ec;
  fs::remove_all(prepared.tmp_dir, ec);  // A VM of this name that ended without Release.
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("remove ", prepared.tmp_dir));
  if (absl::Status s = MakeDirectory(prepared.tmp_dir, 0700); !s.ok()) return s;
  if (absl::Status s = MakeDirectory(vm_dir, 0700); !s.ok()) return s;
  if (prepared.run_as) {
    std::vector<std::string> owned = {vm_dir, prepared.tmp_dir};
    owned.insert(owned.end(), owned_files.begin(), owned_files.end());
    for (const std::string& path : owned) {
      if (chown(path.c_str(), prepared.run_as->uid, prepared.run_as->gid) != 0) {
        return ErrorAt("chown", path);
      }
    }
  }
  if (!use_landlock_) return prepared;

  absl::StatusOr<LandlockRuleset> ruleset = LandlockRuleset::Create();
  if (!ruleset.ok()) return ruleset.status();
  std::vector<std::pair<std::string, LandlockRuleset::AccessSet>> rules = {
      {files_.kernel, kExecutable},
      {root_fs,
       files_.root_fs_mode
           ? LandlockRuleset::Rights({Access::kReadFile, Access::kWriteFile, Access::kTruncate})
           : LandlockRuleset::Rights({Access::kReadFile})},
      {vm_dir, kVmDirRights},
      {files_.work_dir + "/uml", kUmlDirRights},
      {prepared.tmp_dir, kTmpDirRights},
  };
  if (!files_.preload.empty()) {
    rules.push_back({files_.preload, LandlockRuleset::Rights({Access::kReadFile})});
  }
  for (const std::string& library : libraries_) rules.push_back({library, kExecutable});
  // UML opens a pty at start to learn how the host delivers SIGIO (without it, it logs
  // "check_one_sigio failed" and polls). New ptys only: the ones clownixd opened belong to root.
  for (const char* pty : {"/dev/ptmx", "/dev/pts"}) {
    rules.push_back(
        {pty, LandlockRuleset::Rights({Access::kReadFile, Access::kWriteFile, Access::kIoctlDev})});
  }
  for (const auto& [path, rights] : rules) {
    if (absl::Status s = ruleset->Allow(path, rights); !s.ok()) return s;
  }
  prepared.ruleset = std::move(*ruleset);
  return prepared;
}

absl::Status VmConfinement::Adopt(const std::string& name, pid_t pid) {
  absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> group = cgroups_->Adopt(name, pid);
  if (!group.ok()) return group.status();
  absl::MutexLock lock(&mu_);
  groups_[name] = std::move(*group);
  return absl::OkStatus();
}

absl::StatusOr<CgroupLimits::Usage> VmConfinement::Usage(const std::string& name) {
  if (cgroups_->kind() == CgroupLimits::Kind::kNone) {
    return absl::FailedPreconditionError("this host gives VMs no cgroups");
  }
  std::shared_ptr<CgroupLimits::VmGroup> group;
  {
    absl::MutexLock lock(&mu_);
    auto it = groups_.find(name);
    if (it != groups_.end()) group = it->second;
  }
  if (!group) return absl::NotFoundError(absl::StrCat("vm \"", name, "\" has no cgroup"));
  return group->ReadUsage();
}

absl::Status VmConfinement::Release(const std::string& name) {
  std::shared_ptr<CgroupLimits::VmGroup> group;
  {
    absl::MutexLock lock(&mu_);
    auto it = groups_.find(name);
    if (it != groups_.end()) {
      group = std::move(it->second);
      groups_.erase(it);
    }
  }
  if (group) {
    if (absl::Status s = group->Remove(); !s.ok()) return s;
  }
  std::error_code ec;
  fs::remove_all(TmpDir(name), ec);
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("remove ", TmpDir(name)));
  return absl::OkStatus();
}

}  // namespace clownix::vmm
