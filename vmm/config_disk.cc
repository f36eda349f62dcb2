#include "vmm/config_disk.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/seed_rules.h"
#include "common/subprocess.h"

namespace clownix::vmm {
namespace {

constexpr char kConfigCmd[] = R"(#!/bin/sh
# clownix config_cmd: run by the guest's init from the config disk (cwd = the disk).
# Every value is read from a file beside this script, by the read builtin: under UML a fork costs
# a new host process (tens of ms of host CPU at every boot), and $(cat ...) is two.
name=
ip=
read -r name <./name
read -r ip <./admin_ip
# What `hostname NAME` does, without its fork.
echo "$name" >/proc/sys/kernel/hostname
echo "$name" >/etc/hostname
echo "$name" >/run/clownix-name
# The admin interface, when the VM has one: without the admin network there is no eth0 (and
# admin_ip may be empty).
if [ -n "$ip" ] && [ -e /sys/class/net/eth0 ]; then
  # IPv4 only (where the kernel has IPv6): no link-local address, duplicate address detection,
  # router solicitations or multicast reports, which every VM on the admin LAN would receive
  # from every other at each boot. The admin LAN is for host-to-VM traffic.
  [ ! -e /proc/sys/net/ipv6/conf/eth0 ] || echo 1 >/proc/sys/net/ipv6/conf/eth0/disable_ipv6
  ip link set eth0 up
  ip addr add "$ip" dev eth0
fi
if [ -s ./authorized_keys ]; then
  # Both images ship /root/.ssh (0700); the keys are copied by builtins, 0600 when new.
  [ -d /root/.ssh ] || mkdir -m 700 -p /root/.ssh
  umask 077
  while IFS= read -r key || [ -n "$key" ]; do
    printf '%s\n' "$key"
  done <./authorized_keys >/root/.ssh/authorized_keys
  umask 022
fi
# The guest's configuration: files, sysctls, then addresses. A failure is logged and marks the
# setup failed (startup_run reports both); the rest goes on.
[ -d /run/clownix ] || mkdir -p /run/clownix
fail() {
  echo "clownix setup: $*" >>/run/clownix/setup.log
  : >/run/clownix/setup.failed
}
if [ -s ./files/manifest ]; then
  while read -r mode index path; do
    dir=${path%/*}
    [ -z "$dir" ] || mkdir -p "$dir" || fail "file $path: cannot make $dir"
    if cp "./files/$index" "$path" && chmod "$mode" "$path"; then :; else
      fail "file $path could not be written"
    fi
  done <./files/manifest
fi
if [ -s ./sysctls ]; then
  while IFS= read -r line; do
    name=${line%%=*}
    value=${line#*=}
    # sysctl's two spellings: net.ipv4.ip_forward and net/ipv4/conf/eth1.10/rp_filter.
    case $name in
      */*) key=$name ;;
      *) key=$(IFS=.; set -f; set -- $name; IFS=/; echo "$*") ;;
    esac
    echo "$value" 2>/dev/null >"/proc/sys/$key" || fail "sysctl $name = $value: cannot be set"
  done <./sysctls
fi
if [ -s ./addresses ]; then
  while read -r nic cidr; do
    # A NIC plugged in later (connected while the VM runs) gets its addresses from clownix then.
    [ -e "/sys/class/net/eth$nic" ] || continue
    ip link set "eth$nic" up
    out=$(ip addr add "$cidr" dev "eth$nic" 2>&1) || fail "address $cidr on eth$nic: $out"
  done <./addresses
fi
)";

// Run through the guest agent once it answers, from /run/clownix-config (the guest's init copied
// the disk there). The first call of a boot runs the startup script; a later one (clownixd
// restarted meanwhile) finds the lock taken and waits for the status that run leaves. That wait
// polls once a second: it happens only when clownixd restarts during a startup, and busybox has
// no flock.
constexpr char kStartupRun[] = R"(#!/bin/sh
# clownix startup_run: runs the startup script once per boot and reports how it went.
# Without a startup script this forks nothing: every command spared saves a fork (tens of ms of
# host CPU under UML), and this runs at every boot. Only the shell's builtins below.
state=/run/clownix
# config_cmd made it at boot.
[ -d "$state" ] || mkdir -p "$state"
# The environment of a login shell rather than the agent's.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HOME=/root
export PATH HOME
# The first run of a boot takes the lock (noclobber: the file is created only if it does not
# exist) and leaves the status, then startup.done once the status is whole.
set -C
if { echo $$ >"$state/startup.lock"; } 2>/dev/null; then
  set +C
  code=0
  if [ -s /run/clownix-config/startup ]; then
    chmod 755 /run/clownix-config/startup
    cd /
    magic=
    IFS= read -r -n 2 magic </run/clownix-config/startup
    case $magic in
      '#!') /run/clownix-config/startup >"$state/startup.out" 2>&1 </dev/null ;;
      *) /bin/sh /run/clownix-config/startup >"$state/startup.out" 2>&1 </dev/null ;;
    esac
    code=$?
  fi
  setup=ok
  [ -e "$state/setup.failed" ] && setup=failed
  echo "$code $setup" >"$state/startup.status"
  echo >"$state/startup.done"
fi
set +C
while [ ! -e "$state/startup.done" ]; do sleep 1; done
read -r code setup <"$state/startup.status"
echo "clownix-startup $code $setup"
if [ -s "$state/setup.log" ] || [ -s "$state/startup.out" ]; then
  cat "$state/setup.log" "$state/startup.out" 2>/dev/null | tail -c 4096
fi
)";

// Run through the guest agent to halt the VM: the VM's shutdown script (Netkit's and Kathara's
// .shutdown) for at most $1 seconds, then the guest's own poweroff (init's shutdown actions).
constexpr char kHaltRun[] = R"(#!/bin/sh
# clownix halt_run: runs the shutdown script for at most $1 seconds, then powers off.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HOME=/root
export PATH HOME
if [ -s /run/clownix-config/shutdown ]; then
  mkdir -p /run/clownix
  chmod 755 /run/clownix-config/shutdown
  cd /
  case $(head -c 2 /run/clownix-config/shutdown) in
    '#!') timeout "$1" /run/clownix-config/shutdown ;;
    *) timeout "$1" /bin/sh /run/clownix-config/shutdown ;;
  esac >/run/clownix/shutdown.out 2>&1 </dev/null
  echo "clownix-shutdown $?" >>/run/clownix/shutdown.out
fi
exec poweroff
)";

constexpr char kStartupReportTag[] = "clownix-startup";

absl::Status ValidateKeys(absl::string_view keys) {
  if (keys.size() > 16 * 1024) {
    return absl::InvalidArgumentError("authorized_keys larger than 16 KiB");
  }
  for (absl::string_view line : absl::StrSplit(keys, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 2 || !(absl::StartsWith(f[0], "ssh-") || absl::StartsWith(f[0], "ecdsa-"))) {
      return absl::InvalidArgumentError(
          absl::StrFormat("authorized_keys line \"%s\" is not an OpenSSH public key",
                          absl::CEscape(line.substr(0, 40))));
    }
    std::string decoded;
    if (!absl::Base64Unescape(f[1], &decoded)) {
      return absl::InvalidArgumentError("authorized_keys: key body is not base64");
    }
    for (char c : line) {
      if (!absl::ascii_isprint(c)) {
        return absl::InvalidArgumentError("authorized_keys holds a control character");
      }
    }
  }
  return absl::OkStatus();
}

// The staging files live only until mkfs.ext2 has copied them into the image, so they are
// written plainly: the image is what must be whole, and Build removes it on any error.
absl::Status WriteStagingFile(const std::string& path, absl::string_view data, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("create ", path));
  absl::Status status;
  while (!data.empty() && status.ok()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = absl::ErrnoToStatus(errno, absl::StrCat("write ", path));
    } else {
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  close(fd);  // Nothing was written through it that a close error could lose unnoticed.
  return status;
}

}  // namespace

absl::string_view ConfigDisk::ConfigCmd() { return kConfigCmd; }

std::string ConfigDisk::HaltCommand(absl::Duration script_limit) {
  const int64_t seconds = std::max<int64_t>(1, absl::ToInt64Seconds(script_limit));
  // A guest booted from an older config disk has no halt_run: it just powers off.
  return absl::StrCat(
      "if [ -e /run/clownix-config/halt_run ]; then exec /bin/sh "
      "/run/clownix-config/halt_run ",
      seconds, "; fi; exec poweroff");
}

absl::string_view ConfigDisk::HaltRun() { return kHaltRun; }

std::vector<std::string> ConfigDisk::StartupRunArgv() {
  // busybox's ash (both images have /bin/busybox), not /bin/sh: on the debian image /bin/sh is
  // dash and mkdir, mv and cat are Debian's, each a fork and an exec of a dynamic binary (tens of
  // ms of host CPU under UML) at every boot; busybox's applets only fork. The startup script
  // itself still runs under the image's /bin/sh, or its own interpreter.
  return {"/bin/busybox", "ash", "/run/clownix-config/startup_run"};
}

bool ConfigDisk::HasStartupReport(const common::GuestConfig& guest) {
  return !guest.startup.empty() || !guest.files.empty() || !guest.sysctls.empty() ||
         !guest.addresses.empty();
}

absl::StatusOr<ConfigDisk::StartupReport> ConfigDisk::ParseStartupReport(absl::string_view output) {
  const size_t eol = output.find('\n');
  const absl::string_view first = output.substr(0, eol);
  std::vector<absl::string_view> words = absl::StrSplit(first, ' ');
  StartupReport report;
  if (words.size() != 3 || words[0] != kStartupReportTag ||
      !absl::SimpleAtoi(words[1], &report.exit_code) ||
      (words[2] != "ok" && words[2] != "failed")) {
    return absl::InternalError(
        absl::StrFormat("the guest's startup report begins \"%s\", not \"%s EXIT ok|failed\"",
                        absl::CEscape(first.substr(0, 80)), kStartupReportTag));
  }
  report.setup_ok = words[2] == "ok";
  if (eol != absl::string_view::npos) report.output = std::string(output.substr(eol + 1));
  return report;
}

absl::Status ConfigDisk::Validate(const Contents& contents) {
  if (absl::Status s = common::ValidateName("vm", contents.name); !s.ok()) return s;
  in_addr addr;
  if (!contents.admin_ip.empty() && inet_pton(AF_INET, contents.admin_ip.c_str(), &addr) != 1) {
    return absl::InvalidArgumentError(absl::StrFormat("admin ip \"%s\" is not an IPv4 address",
                                                      absl::CEscape(contents.admin_ip)));
  }
  if (absl::Status s = ValidateKeys(contents.authorized_keys); !s.ok()) return s;
  if (absl::Status s =
          common::ValidateGuestConfig(contents.guest, contents.nic_count, contents.admin);
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("guest config: ", s.message()));
  }
  return absl::OkStatus();
}

namespace {

// The guest configuration's files on the disk, in the layout config_cmd reads (header comment).
absl::Status StageGuestConfig(const common::GuestConfig& guest, const std::string& dir) {
  std::string manifest;
  if (!guest.files.empty()) {
    if (mkdir((dir + "/files").c_str(), 0755) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", dir, "/files"));
    }
  }
  for (size_t i = 0; i < guest.files.size(); ++i) {
    const common::GuestFile& file = guest.files[i];
    absl::StrAppendFormat(&manifest, "%04o %d %s\n", file.mode, i, file.path);
    if (absl::Status s = WriteStagingFile(absl::StrCat(dir, "/files/", i), file.contents, 0644);
        !s.ok()) {
      return s;
    }
  }
  if (!manifest.empty()) {
    if (absl::Status s = WriteStagingFile(dir + "/files/manifest", manifest, 0644); !s.ok()) {
      return s;
    }
  }
  std::string sysctls;
  for (const auto& [name, value] : guest.sysctls) absl::StrAppend(&sysctls, name, "=", value, "\n");
  std::string addresses;
  for (const common::NicAddress& a : guest.addresses) {
    absl::StrAppend(&addresses, a.nic, " ", a.cidr, "\n");
  }
  absl::Status status = WriteStagingFile(dir + "/sysctls", sysctls, 0644);
  if (status.ok()) status = WriteStagingFile(dir + "/addresses", addresses, 0644);
  if (status.ok()) status = WriteStagingFile(dir + "/startup", guest.startup, 0755);
  if (status.ok()) status = WriteStagingFile(dir + "/startup_run", kStartupRun, 0755);
  if (status.ok()) status = WriteStagingFile(dir + "/shutdown", guest.shutdown, 0755);
  if (status.ok()) status = WriteStagingFile(dir + "/halt_run", kHaltRun, 0755);
  return status;
}

}  // namespace

absl::Status ConfigDisk::Build(const Contents& contents, const std::string& image_path) {
  if (absl::Status s = Validate(contents); !s.ok()) return s;
  std::string tmpl = image_path + ".d.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot create files beside ", image_path));
  }
  const std::string dir = tmpl;
  absl::Status status = WriteStagingFile(dir + "/config_cmd", kConfigCmd, 0755);
  if (status.ok()) status = WriteStagingFile(dir + "/name", contents.name + "\n", 0644);
  // With its prefix length (common::kAdminPrefixLength), as `ip addr add` takes it.
  const std::string admin_cidr =
      contents.admin_ip.empty() ? ""
                                : absl::StrCat(contents.admin_ip, "/", common::kAdminPrefixLength);
  if (status.ok()) status = WriteStagingFile(dir + "/admin_ip", admin_cidr + "\n", 0644);
  if (status.ok()) {
    status = WriteStagingFile(dir + "/authorized_keys", contents.authorized_keys, 0644);
  }
  if (status.ok()) status = StageGuestConfig(contents.guest, dir);
  if (status.ok()) {
    unlink(image_path.c_str());  // mkfs.ext2 -F reuses an existing file's size otherwise.
    common::SpawnOptions mkfs;
    // Room for the largest guest configuration (common::kMaxGuestConfigBytes in at most
    // kMaxGuestFiles files, 1 KiB blocks) with inodes to spare; the file is sparse.
    mkfs.argv = {"mkfs.ext2", "-q",  "-F", "-L", "clownix-cfg", "-b", "1024",
                 "-N",        "512", "-d", dir,  image_path,    "2M"};
    status = common::RunChecked(std::move(mkfs));
  }
  // Cleanup errors: the staging directory is garbage either way and `status` says what matters.
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (!status.ok()) std::filesystem::remove(image_path, ignored);
  return status;
}

}  // namespace clownix::vmm
