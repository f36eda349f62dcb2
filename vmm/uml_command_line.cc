#include "vmm/uml_command_line.h"

#include <sys/un.h>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/seed_rules.h"

namespace clownix::vmm {
namespace {

// UML splits its options on ',' (and the kernel on whitespace); '=' would confuse ubd.
absl::Status CheckPath(const char* what, const std::string& path, bool is_socket) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " path is empty"));
  for (char c : path) {
    if (c == ',' || c == '=' || absl::ascii_isspace(c) || !absl::ascii_isprint(c)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s path \"%s\" holds a character UML cannot take (',', '=', blank)", what, path));
    }
  }
  if (is_socket && path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s path \"%s\" is %d bytes, longer than a unix socket path (%d)", what,
                        path, path.size(), sizeof(sockaddr_un{}.sun_path) - 1));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> UmlCommandLine::NicValue(const Nic& nic) {
  if (absl::Status s = common::ValidateNicIndex(nic.index); !s.ok()) return s;
  if (nic.mac.size() != 17) {
    return absl::InvalidArgumentError(absl::StrCat("bad MAC \"", nic.mac, "\""));
  }
  if (absl::Status s = CheckPath("NIC control socket", nic.ctl_path, true); !s.ok()) return s;
  return absl::StrCat("daemon,", nic.mac, ",unix,", nic.ctl_path);
}

absl::StatusOr<std::vector<std::string>> UmlCommandLine::Build(const Params& p) {
  if (absl::Status s = common::ValidateMemMib(absl::StrCat("vm \"", p.umid, "\""), p.mem_mib);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = common::ValidateName("vm", p.umid); !s.ok()) return s;
  for (auto [what, path] : {std::pair{"kernel", &p.kernel},
                            {"uml_dir", &p.uml_dir},
                            {"root_fs", &p.root_fs},
                            {"config disk", &p.config_disk}}) {
    if (absl::Status s = CheckPath(what, *path, false); !s.ok()) return s;
  }
  if (!p.cow_path.empty()) {
    if (absl::Status s = CheckPath("COW", p.cow_path, false); !s.ok()) return s;
  }
  if (!p.hostfs_root.empty()) {
    if (absl::Status s = CheckPath("hostfs root", p.hostfs_root, false); !s.ok()) return s;
  }
  if (absl::Status s = CheckPath("notify socket", p.notify_socket, true); !s.ok()) return s;
  // uml_dir/UMID/mconsole must fit a socket address too.
  std::string mconsole = absl::StrCat(p.uml_dir, "/", p.umid, "/mconsole");
  if (absl::Status s = CheckPath("mconsole socket", mconsole, true); !s.ok()) return s;

  std::vector<std::string> argv = {
      p.kernel,
      absl::StrCat("mem=", p.mem_mib, "M"),
      absl::StrCat("uml_dir=", p.uml_dir),
      absl::StrCat("umid=", p.umid),
      // A COW of its own is not locked on the host ('c'): a reboot re-executes UML in place, and
      // a guest process forked while the old kernel went down can outlive it, stopped, holding
      // the old file table and with it the lock, which the new kernel would then fail to take
      // ("Failed to lock COW", "VFS: Unable to mount root fs"). Nothing else ever opens the COW:
      // it is made fresh at each start, in a work dir one VmManager holds (vmm.lock). The seed's
      // root_fs mode writes a shared file and keeps the lock.
      p.cow_path.empty() ? absl::StrCat("ubda=", p.root_fs)
                         : absl::StrCat("ubdac=", p.cow_path, ",", p.root_fs),
      absl::StrCat("ubdb=", p.config_disk),
      "root=/dev/ubda",
      absl::StrCat("mconsole=notify:", p.notify_socket),
      // Consoles: con1..7 would default to xterm (docs/uml-facts.md #14). con0 and the agent's
      // serial line are pty masters handed over by the launcher, so a restarted clownixd can
      // re-attach to their slaves.
      "con=null",
      absl::StrFormat("con0=fd:%d,fd:%d", p.console_fd, p.console_fd),
      "ssl=null",
      absl::StrFormat("ssl1=fd:%d,fd:%d", p.agent_fd, p.agent_fd),
  };
  // Kernel messages go to the console log only from warnings up: printing them costs about
  // 0.5 s of boot.
  argv.push_back("quiet");
  // Two initcalls of Debian's UML kernel took most of its boot (initcall_debug; docs/uml-facts.md
  // #21): making 256 legacy BSD pty pairs (pty_init, 1.2-2.5 s) and timing raid6's algorithms
  // (raid6_select_algo, 0.85 s, a fixed time per algorithm). The guests use Unix98 ptys
  // (/dev/pts, which both images mount) and no RAID 6: only a btrfs RAID 5/6 or an md raid456
  // array would call what the skipped init chooses, and would then fault the guest's own kernel.
  argv.push_back("pty.legacy_count=0");
  argv.push_back("initcall_blacklist=raid6_select_algo");
  if (!p.hostfs_root.empty()) argv.push_back(absl::StrCat("hostfs=", p.hostfs_root));
  if (p.lpj > 0) argv.push_back(absl::StrCat("lpj=", p.lpj));
  std::set<int> seen;
  for (const Nic& nic : p.nics) {
    absl::StatusOr<std::string> value = NicValue(nic);
    if (!value.ok()) return value.status();
    if (!seen.insert(nic.index).second) {
      return absl::InvalidArgumentError(absl::StrFormat("eth%d given twice", nic.index));
    }
    argv.push_back(absl::StrCat("eth", nic.index, "=", *value));
  }
  return argv;
}

}  // namespace clownix::vmm
