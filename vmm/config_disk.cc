#include "vmm/config_disk.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/seed_rules.h"
#include "common/subprocess.h"

namespace clownix::vmm {
namespace {

constexpr char kConfigCmd[] = R"(#!/bin/sh
# clownix config_cmd: run by the guest's init from the config disk (cwd = the disk).
# Every value is read from a file beside this script.
name=$(cat ./name)
ip=$(cat ./admin_ip)
hostname "$name"
echo "$name" >/etc/hostname
echo "$name" >/run/clownix-name
# The admin interface, when the VM has one: without the admin network there is no eth0 (and
# admin_ip may be empty).
if [ -n "$ip" ] && [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  ip addr add "$ip/8" dev eth0
fi
if [ -s ./authorized_keys ]; then
  mkdir -p /root/.ssh
  chmod 700 /root/.ssh
  cp ./authorized_keys /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
)";

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

absl::Status ConfigDisk::Validate(const Contents& contents) {
  if (absl::Status s = common::ValidateName("vm", contents.name); !s.ok()) return s;
  in_addr addr;
  if (!contents.admin_ip.empty() && inet_pton(AF_INET, contents.admin_ip.c_str(), &addr) != 1) {
    return absl::InvalidArgumentError(absl::StrFormat("admin ip \"%s\" is not an IPv4 address",
                                                      absl::CEscape(contents.admin_ip)));
  }
  return ValidateKeys(contents.authorized_keys);
}

absl::Status ConfigDisk::Build(const Contents& contents, const std::string& image_path) {
  if (absl::Status s = Validate(contents); !s.ok()) return s;
  std::string tmpl = image_path + ".d.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot create files beside ", image_path));
  }
  const std::string dir = tmpl;
  absl::Status status = WriteStagingFile(dir + "/config_cmd", kConfigCmd, 0755);
  if (status.ok()) status = WriteStagingFile(dir + "/name", contents.name + "\n", 0644);
  if (status.ok()) status = WriteStagingFile(dir + "/admin_ip", contents.admin_ip + "\n", 0644);
  if (status.ok()) {
    status = WriteStagingFile(dir + "/authorized_keys", contents.authorized_keys, 0644);
  }
  if (status.ok()) {
    unlink(image_path.c_str());  // mkfs.ext2 -F reuses an existing file's size otherwise.
    common::SpawnOptions mkfs;
    mkfs.argv = {"mkfs.ext2", "-q", "-F", "-L", "clownix-cfg", "-d", dir, image_path, "1M"};
    status = common::RunChecked(std::move(mkfs));
  }
  // Cleanup errors: the staging directory is garbage either way and `status` says what matters.
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (!status.ok()) std::filesystem::remove(image_path, ignored);
  return status;
}

}  // namespace clownix::vmm
