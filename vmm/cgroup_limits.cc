#include "vmm/cgroup_limits.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_io.h"
#include "common/seed_rules.h"

namespace clownix::vmm {
namespace {

constexpr int64_t kMib = 1 << 20;

// One line of /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - TYPE SOURCE
// SUPER_OPTS". Paths there escape ' ', '\t', '\n' and '\\' as octal (\040).
struct Mount {
  std::string root;
  std::string point;
  std::string type;
  std::vector<std::string> super_options;
};

std::string UnescapeMountPath(absl::string_view s) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<Mount> ParseMountinfo(absl::string_view text) {
  std::vector<Mount> mounts;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 3 >= f.size()) continue;  // Not a line this parser knows: skip it.
    Mount m;
    m.root = UnescapeMountPath(f[3]);
    m.point = UnescapeMountPath(f[4]);
    m.type = std::string(f[dash + 1]);
    m.super_options = absl::StrSplit(f[dash + 3], ',');
    mounts.push_back(std::move(m));
  }
  return mounts;
}

// One line of /proc/PID/cgroup: "ID:CONTROLLERS:PATH"; v2's is "0::PATH".
struct Membership {
  bool v2 = false;
  std::vector<std::string> controllers;
  std::string path;
};

std::vector<Membership> ParseProcCgroup(absl::string_view text) {
  std::vector<Membership> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;  // Not a line this parser knows: skip it.
    Membership m;
    m.v2 = f[0] == "0" && f[1].empty();
    if (!f[1].empty()) m.controllers = absl::StrSplit(f[1], ',');
    m.path = std::string(f[2]);
    out.push_back(std::move(m));
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, absl::string_view s) {
  for (const std::string& e : v) {
    if (e == s) return true;
  }
  return false;
}

// Where hierarchy path `path` is under mount `m`, if that mount shows it. A path outside the
// mount's root (as /proc/PID/cgroup shows "/.." for a group outside one's cgroup namespace) is
// not reachable there.
std::optional<std::string> DirUnder(const Mount& m, absl::string_view path) {
  if (!absl::StartsWith(path, "/") || absl::StrContains(path, "/..")) return std::nullopt;
  if (m.root == "/") return path == "/" ? m.point : absl::StrCat(m.point, path);
  if (path == m.root) return m.point;
  if (absl::StartsWith(path, absl::StrCat(m.root, "/"))) {
    return absl::StrCat(m.point, path.substr(m.root.size()));
  }
  return std::nullopt;
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// `echo value > path`.
absl::Status WriteControl(const std::string& path, absl::string_view value) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  ssize_t n;
  do {
    n = write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  const int write_errno = errno;
  close(fd);  // Nothing is buffered on cgroupfs: the write's result is the answer.
  if (n < 0) {
    return absl::ErrnoToStatus(write_errno, absl::StrCat("write \"", value, "\" to ", path));
  }
  if (static_cast<size_t>(n) != value.size()) {
    return absl::InternalError(absl::StrCat("short write of \"", value, "\" to ", path));
  }
  return absl::OkStatus();
}

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ReadNumber(const std::string& path) {
  absl::StatusOr<std::string> text = common::ReadFile(path, 4096);
  if (!text.ok()) return text.status();
  absl::string_view v = absl::StripAsciiWhitespace(*text);
  if (v == "max") return INT64_MAX;
  int64_t n = 0;
  if (!absl::SimpleAtoi(v, &n)) {
    return absl::InternalError(absl::StrCat(path, " holds \"", v, "\", not a number"));
  }
  return n;
}

// The value of `key` in a flat keyed file ("oom_kill 3\nmax 0\n"); 0 when it is not there.
absl::StatusOr<int64_t> ReadKey(const std::string& path, absl::string_view key) {
  absl::StatusOr<std::string> text = common::ReadFile(path, 64 << 10);
  if (!text.ok()) return text.status();
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, ' ');
    int64_t n = 0;
    if (kv.first == key && absl::SimpleAtoi(kv.second, &n)) return n;
  }
  return 0;
}

// FNV-1a: a hash that stays the same across builds and restarts (std::hash and absl::Hash do not
// promise that), so a restarted clownixd finds its groups.
std::string ShortHash(absl::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrFormat("%08x", static_cast<uint32_t>(h ^ (h >> 32)));
}

std::string Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

std::string Dirname(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? "" : path.substr(0, slash));
}

}  // namespace

// Measured on the project's machine (Debian's linux.uml 6.1, busybox guest, mem=64M, cgroup v1,
// guest RAM on /dev/shm; vmm/cgroup_limits_uml_test prints these): a booted idle VM's group holds
// 29-33 MiB (24-28 MiB of it guest RAM) and its host task count peaks at 53-110 while it boots;
// after a guest process filled the guest's RAM and a 64 MiB file went to its disk, 62-65 MiB (49
// MiB guest RAM, the rest page cache and UML); a fork bomb in the guest reached 319-422 host
// tasks and 86-116 MiB, where the guest's own RAM stopped it: about 130 KiB of host kernel memory
// (stack, page tables, task) per host task.
//
// pids: a guest's RAM holds about mem/128 KiB processes, each one a host task, so that is the
// limit: a guest meets its own RAM's end first, and a bomb in a large guest cannot take the
// host's pid space (32768 on many hosts). At least 512 (booting takes up to ~110; a small guest's
// bomb stops itself), at most 2048 (more processes than that is not a lab VM).
// memory: guest RAM + 32 MiB (UML itself and room for the page cache of its disks; more page
// cache is reclaimed, not killed) + 160 KiB per allowed host task (the measured 130 and a margin),
// so that a guest using all it has never meets the limit: only a leaking host process would.
CgroupLimits::Limits CgroupLimits::LimitsFor(int mem_mib) {
  Limits limits;
  limits.pids = std::clamp<int64_t>(int64_t{mem_mib} * 8, 512, 2048);
  limits.memory_bytes = (int64_t{mem_mib} + 32) * kMib + limits.pids * 160 * 1024;
  return limits;
}

// ---- VmGroup ----

CgroupLimits::VmGroup::VmGroup(std::string vm, Kind kind, std::vector<std::string> dirs,
                               std::vector<common::UniqueFd> fds)
    : vm_(std::move(vm)), kind_(kind), dirs_(std::move(dirs)), fds_(std::move(fds)) {
  for (const common::UniqueFd& fd : fds_) fd_numbers_.push_back(fd.get());
}

absl::StatusOr<CgroupLimits::Usage> CgroupLimits::VmGroup::ReadUsage() const {
  if (kind_ == Kind::kNone) {
    return absl::FailedPreconditionError(absl::StrCat("vm \"", vm_, "\" has no cgroup"));
  }
  const std::string& mem = dirs_[0];
  const std::string& pids = dirs_.back();  // v2 and co-mounted v1: the same group.
  const bool v2 = kind_ == Kind::kV2;
  Usage u;
  absl::StatusOr<int64_t> n =
      ReadNumber(absl::StrCat(mem, v2 ? "/memory.current" : "/memory.usage_in_bytes"));
  if (!n.ok()) return n.status();
  u.memory_bytes = *n;
  const std::string peak = absl::StrCat(mem, v2 ? "/memory.peak" : "/memory.max_usage_in_bytes");
  if (Exists(peak)) {  // v2's memory.peak is new in Linux 5.19.
    if (!(n = ReadNumber(peak)).ok()) return n.status();
    u.memory_peak_bytes = *n;
  }
  if (!(n = ReadKey(absl::StrCat(mem, v2 ? "/memory.events" : "/memory.oom_control"), "oom_kill"))
           .ok()) {
    return n.status();
  }
  u.oom_kills = *n;
  if (!(n = ReadNumber(absl::StrCat(pids, "/pids.current"))).ok()) return n.status();
  u.pids = *n;
  if (const std::string pids_peak = absl::StrCat(pids, "/pids.peak"); Exists(pids_peak)) {
    if (!(n = ReadNumber(pids_peak)).ok()) return n.status();
    u.pids_peak = *n;
  }
  if (!(n = ReadKey(absl::StrCat(pids, "/pids.events"), "max")).ok()) return n.status();
  u.pids_max_hits = *n;
  return u;
}

absl::Status CgroupLimits::VmGroup::Remove() const {
  absl::Status first;
  for (const std::string& dir : dirs_) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) continue;
    // cgroupfs says EBUSY while the group holds a process; ENOTEMPTY is what a plain directory
    // (a test's tree) says in its place.
    if (errno == EBUSY || errno == ENOTEMPTY) {
      first.Update(absl::FailedPreconditionError(
          absl::StrCat("cgroup ", dir, " of vm \"", vm_, "\" still holds processes")));
    } else {
      first.Update(absl::ErrnoToStatus(errno, absl::StrCat("rmdir ", dir)));
    }
  }
  return first;
}

// ---- CgroupLimits ----

namespace cgroup_limits_internal {

struct Hierarchy {
  std::string mount_point;  // Where it is mounted here.
  std::string mount_root;   // The hierarchy's path mounted there ("/" mostly).
  bool v2 = false;
  bool memory = false;     // Holds the memory controller (v2: both).
  bool pids = false;       // Holds the pids controller.
  std::string base;        // OWN/clownix-HASH, a directory.
  bool swap_file = false;  // memory.memsw.limit_in_bytes (v1), memory.swap.max (v2) exist.
};

}  // namespace cgroup_limits_internal

namespace {

using cgroup_limits_internal::Hierarchy;

constexpr char kNotLimited[] =
    "VMs run without host memory and process limits: a fork bomb or memory hog in a guest can "
    "starve the host and the other VMs";

std::vector<std::string> Words(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
}

// The v2 hierarchy with memory and pids handed down to OWN/`group_name`; the error says why not.
absl::StatusOr<Hierarchy> FindV2(const std::vector<Mount>& mounts,
                                 const std::vector<Membership>& memberships,
                                 const std::string& group_name) {
  const Membership* own = nullptr;
  for (const Membership& m : memberships) {
    if (m.v2) own = &m;
  }
  if (own == nullptr) return absl::NotFoundError("clownixd is in no cgroup v2 group");
  std::optional<std::string> dir;
  Hierarchy h;
  for (const Mount& m : mounts) {
    if (m.type != "cgroup2" || !(dir = DirUnder(m, own->path))) continue;
    h.mount_point = m.point;
    h.mount_root = m.root;
    break;
  }
  if (!dir) {
    return absl::NotFoundError(
        absl::StrCat("clownixd's cgroup v2 group ", own->path, " is under no cgroup2 mount"));
  }
  absl::StatusOr<std::string> controllers = common::ReadFile(*dir + "/cgroup.controllers", 4096);
  if (!controllers.ok()) return controllers.status();
  std::vector<std::string> available = Words(*controllers);
  if (!Contains(available, "memory") || !Contains(available, "pids")) {
    return absl::FailedPreconditionError(
        absl::StrCat("cgroup v2 group ", *dir, " has no memory and pids controllers (it has: ",
                     available.empty() ? "none" : absl::StrJoin(available, " "), ")"));
  }
  absl::StatusOr<std::string> subtree = common::ReadFile(*dir + "/cgroup.subtree_control", 4096);
  if (!subtree.ok()) return subtree.status();
  std::vector<std::string> enabled = Words(*subtree);
  if (!Contains(enabled, "memory") || !Contains(enabled, "pids")) {
    // No internal processes: a group that hands controllers down holds no process itself (the
    // root group is exempt), so the processes of clownixd's group go to the leaf OWN/clownixd.
    if (own->path != "/") {
      absl::StatusOr<std::string> procs = common::ReadFile(*dir + "/cgroup.procs", 4 << 20);
      if (!procs.ok()) return procs.status();
      const std::string leaf = *dir + "/clownixd";
      if (absl::Status s = MakeDir(leaf); !s.ok()) return s;
      for (const std::string& pid : Words(*procs)) {
        absl::Status moved = WriteControl(leaf + "/cgroup.procs", pid);
        // NOT_FOUND (ESRCH): it exited meanwhile, nothing to move.
        if (!moved.ok() && !absl::IsNotFound(moved)) return moved;
      }
    }
    if (absl::Status s = WriteControl(*dir + "/cgroup.subtree_control", "+memory +pids"); !s.ok()) {
      return s;
    }
  }
  h.v2 = h.memory = h.pids = true;
  h.base = absl::StrCat(*dir, "/", group_name);
  if (absl::Status s = MakeDir(h.base); !s.ok()) return s;
  if (absl::Status s = WriteControl(h.base + "/cgroup.subtree_control", "+memory +pids"); !s.ok()) {
    return s;
  }
  h.swap_file = Exists(h.base + "/memory.swap.max");
  return h;
}

// v1's memory and pids hierarchies (one if they are mounted together), with OWN/`group_name`
// made in each; the error says why not.
absl::StatusOr<std::vector<Hierarchy>> FindV1(const std::vector<Mount>& mounts,
                                              const std::vector<Membership>& memberships,
                                              const std::string& group_name) {
  std::vector<Hierarchy> found;
  for (const char* controller : {"memory", "pids"}) {
    std::optional<Hierarchy> h;
    for (const Membership& own : memberships) {
      if (h || own.v2 || !Contains(own.controllers, controller)) continue;
      for (const Mount& m : mounts) {
        if (m.type != "cgroup" || !Contains(m.super_options, controller)) continue;
        std::optional<std::string> dir = DirUnder(m, own.path);
        if (!dir) continue;
        h = Hierarchy{m.point, m.root, false, false, false, absl::StrCat(*dir, "/", group_name)};
        break;
      }
    }
    if (!h) {
      return absl::NotFoundError(
          absl::StrCat("no cgroup v1 ", controller, " hierarchy holding clownixd"));
    }
    if (!found.empty() && found[0].base == h->base) {
      found[0].pids = true;
      continue;
    }
    (std::string(controller) == "memory" ? h->memory : h->pids) = true;
    found.push_back(*h);
  }
  for (Hierarchy& h : found) {
    if (absl::Status s = MakeDir(h.base); !s.ok()) return s;
    h.swap_file = h.memory && Exists(h.base + "/memory.memsw.limit_in_bytes");
  }
  return found;
}

// All VMs of one clownixd together get at most half the host's pid space, so that clownixd and
// the host can still fork when every guest runs a fork bomb. The limit, or 0 where the host does
// not say its pid space.
absl::StatusOr<int64_t> CapAllVms(const std::vector<Hierarchy>& hierarchies,
                                  const std::string& proc) {
  absl::StatusOr<std::string> text = common::ReadFile(proc + "/sys/kernel/pid_max", 64);
  int64_t pid_max = 0;
  if (!text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid_max)) return 0;
  for (const Hierarchy& h : hierarchies) {
    if (!h.pids) continue;
    if (absl::Status s = WriteControl(h.base + "/pids.max", absl::StrCat(pid_max / 2)); !s.ok()) {
      return s;
    }
  }
  return pid_max / 2;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CgroupLimits>> CgroupLimits::Create(CgroupLimitsOptions options) {
  if (options.work_dir.empty()) return absl::InvalidArgumentError("cgroup limits: empty work_dir");
  std::error_code ec;  // On error (no current directory) the path is used as given.
  std::string work = std::filesystem::absolute(options.work_dir, ec).lexically_normal().string();
  while (work.size() > 1 && work.back() == '/') work.pop_back();
  const std::string group_name = absl::StrCat("clownix-", ShortHash(work));
  auto none = [&](absl::string_view why) {
    return absl::WrapUnique(new CgroupLimits(std::move(options), group_name, Kind::kNone, {},
                                             absl::StrCat(kNotLimited, " (", why, ")")));
  };

  absl::StatusOr<std::string> mountinfo = common::ReadFile(options.proc + "/self/mountinfo");
  if (!mountinfo.ok()) return none(absl::StrCat("cannot read ", mountinfo.status().message()));
  absl::StatusOr<std::string> cgroup = common::ReadFile(options.proc + "/self/cgroup", 1 << 20);
  if (!cgroup.ok()) return none(absl::StrCat("cannot read ", cgroup.status().message()));
  const std::vector<Mount> mounts = ParseMountinfo(*mountinfo);
  const std::vector<Membership> memberships = ParseProcCgroup(*cgroup);

  Kind kind = Kind::kV2;
  std::vector<Hierarchy> hierarchies;
  std::string why_not_v2;
  absl::StatusOr<Hierarchy> v2 = FindV2(mounts, memberships, group_name);
  if (v2.ok()) {
    hierarchies = {*v2};
  } else {
    why_not_v2 = absl::StrCat(" (cgroup v2: ", v2.status().message(), ")");
    absl::StatusOr<std::vector<Hierarchy>> v1 = FindV1(mounts, memberships, group_name);
    if (!v1.ok()) {
      return none(absl::StrCat("cgroup v2: ", v2.status().message(),
                               "; cgroup v1: ", v1.status().message()));
    }
    kind = Kind::kV1;
    hierarchies = std::move(*v1);
  }
  absl::StatusOr<int64_t> all_vms = CapAllVms(hierarchies, options.proc);
  if (!all_vms.ok()) return none(all_vms.status().message());

  std::vector<std::string> bases;
  for (const Hierarchy& h : hierarchies) bases.push_back(h.base);
  std::string description = absl::StrCat(
      "per-VM limits on memory (no swap) and host tasks in cgroup ",
      kind == Kind::kV2 ? "v2" : "v1", " groups under ", absl::StrJoin(bases, " and "));
  if (*all_vms > 0)
    absl::StrAppend(&description, ", all VMs together at most ", *all_vms, " tasks");
  absl::StrAppend(&description, why_not_v2);
  return absl::WrapUnique(new CgroupLimits(std::move(options), group_name, kind,
                                           std::move(hierarchies), std::move(description)));
}

CgroupLimits::CgroupLimits(CgroupLimitsOptions options, std::string group_name, Kind kind,
                           std::vector<Hierarchy> hierarchies, std::string description)
    : options_(std::move(options)),
      group_name_(std::move(group_name)),
      kind_(kind),
      hierarchies_(std::move(hierarchies)),
      description_(std::move(description)) {}

CgroupLimits::~CgroupLimits() {
  // EBUSY while a VM group is left (a VM still runs, to be adopted after a restart): kept.
  for (const Hierarchy& h : hierarchies_) rmdir(h.base.c_str());
}

namespace {

// Sets LimitsFor(mem_mib) on the VM group `dir` of hierarchy `h`.
absl::Status SetLimits(const std::string& dir, const Hierarchy& h, int mem_mib) {
  const CgroupLimits::Limits limits = CgroupLimits::LimitsFor(mem_mib);
  const std::string memory = absl::StrCat(limits.memory_bytes);
  const std::string pids = absl::StrCat(limits.pids);
  auto write = [&dir](absl::string_view file, absl::string_view value) {
    return WriteControl(absl::StrCat(dir, "/", file), value);
  };
  absl::Status s;
  if (h.v2) {
    s.Update(write("memory.max", memory));
    if (h.swap_file) s.Update(write("memory.swap.max", "0"));
    // A VM missing one host process is dead anyway: an OOM kill takes the whole group.
    s.Update(write("memory.oom.group", "1"));
    s.Update(write("pids.max", pids));
    return s;
  }
  if (h.memory) {
    // memsw (memory + swap) may never be below the memory limit: lift it, set the memory limit,
    // then bring memsw down to it, whatever the values were before (a group made earlier).
    if (h.swap_file) s.Update(write("memory.memsw.limit_in_bytes", "-1"));
    s.Update(write("memory.limit_in_bytes", memory));
    if (h.swap_file) s.Update(write("memory.memsw.limit_in_bytes", memory));
    // Without swap accounting memsw is missing; swappiness 0 keeps the group out of swap anyway.
    s.Update(write("memory.swappiness", "0"));
  }
  if (h.pids) s.Update(write("pids.max", pids));
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> CgroupLimits::OpenDirs(
    absl::string_view vm, std::vector<std::string> dirs) const {
  std::vector<common::UniqueFd> fds;
  for (const std::string& dir : dirs) {
    const std::string procs = absl::StrCat(dir, "/cgroup.procs");
    common::UniqueFd fd(open(procs.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid()) return absl::ErrnoToStatus(errno, absl::StrCat("open ", procs));
    fds.push_back(std::move(fd));
  }
  return absl::WrapUnique(new VmGroup(std::string(vm), kind_, std::move(dirs), std::move(fds)));
}

absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> CgroupLimits::Open(absl::string_view vm,
                                                                          int mem_mib) const {
  if (absl::Status s = common::ValidateName("vm", vm); !s.ok()) return s;
  if (absl::Status s = common::ValidateMemMib(absl::StrCat("vm \"", vm, "\""), mem_mib); !s.ok()) {
    return s;
  }
  std::vector<std::string> dirs;
  for (const Hierarchy& h : hierarchies_) {
    std::string dir = absl::StrCat(h.base, "/", vm);
    if (absl::Status s = MakeDir(dir); !s.ok()) return s;
    if (absl::Status s = SetLimits(dir, h, mem_mib); !s.ok()) return s;
    dirs.push_back(std::move(dir));
  }
  return OpenDirs(vm, std::move(dirs));
}

absl::StatusOr<std::unique_ptr<CgroupLimits::VmGroup>> CgroupLimits::Adopt(absl::string_view vm,
                                                                           pid_t pid) const {
  if (absl::Status s = common::ValidateName("vm", vm); !s.ok()) return s;
  if (kind_ == Kind::kNone) return OpenDirs(vm, {});
  absl::StatusOr<std::string> text =
      common::ReadFile(absl::StrCat(options_.proc, "/", pid, "/cgroup"), 1 << 20);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat("vm \"", vm, "\": process ", pid, " is gone"));
    }
    return text.status();
  }
  std::vector<Membership> memberships = ParseProcCgroup(*text);
  std::vector<std::string> dirs;
  for (const Hierarchy& h : hierarchies_) {
    const Membership* in = nullptr;
    for (const Membership& m : memberships) {
      if (h.v2 ? m.v2 : Contains(m.controllers, h.memory ? "memory" : "pids")) in = &m;
    }
    std::optional<std::string> dir;
    if (in != nullptr) dir = DirUnder(Mount{h.mount_root, h.mount_point, "", {}}, in->path);
    if (!dir || Basename(*dir) != vm || Basename(Dirname(*dir)) != group_name_) {
      return absl::NotFoundError(
          absl::StrCat("vm \"", vm, "\" (process ", pid, ") is not in a cgroup of this clownixd (",
                       group_name_, "/", vm, "): it is in ", in == nullptr ? "none" : in->path));
    }
    dirs.push_back(std::move(*dir));
  }
  return OpenDirs(vm, std::move(dirs));
}

}  // namespace clownix::vmm
