#include "vmm/config_disk.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "vmm/addressing.h"

extern char** environ;

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
ip link set eth0 up 2>/dev/null
ip addr add "$ip/8" dev eth0 2>/dev/null
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

absl::Status WriteFile(const std::string& path, absl::string_view data, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", strerror(errno)));
  bool ok = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  close(fd);
  if (!ok) return absl::InternalError(absl::StrCat("write ", path));
  return absl::OkStatus();
}

// Runs argv (no shell), output to `log_path`; OK on exit status 0.
absl::Status Run(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return absl::InternalError(absl::StrCat("spawn ", argv[0], ": ", strerror(rc)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream log(log_path);
    std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    return absl::InternalError(
        absl::StrFormat("%s failed (status %d): %s", argv[0], status, output.substr(0, 400)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view ConfigDisk::ConfigCmd() { return kConfigCmd; }

absl::Status ConfigDisk::Validate(const Contents& contents) {
  if (absl::Status s = Addressing::ValidateName(contents.name); !s.ok()) return s;
  in_addr addr;
  if (inet_pton(AF_INET, contents.admin_ip.c_str(), &addr) != 1) {
    return absl::InvalidArgumentError(absl::StrFormat("admin ip \"%s\" is not an IPv4 address",
                                                      absl::CEscape(contents.admin_ip)));
  }
  return ValidateKeys(contents.authorized_keys);
}

absl::Status ConfigDisk::Build(const Contents& contents, const std::string& image_path) {
  if (absl::Status s = Validate(contents); !s.ok()) return s;
  std::string tmpl = image_path + ".d.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    return errno == EACCES
               ? absl::PermissionDeniedError(
                     absl::StrCat("cannot create files beside ", image_path, ": ", strerror(errno)))
               : absl::InternalError(absl::StrCat("mkdtemp ", tmpl, ": ", strerror(errno)));
  }
  const std::string dir = tmpl;
  const std::string log = dir + ".log";
  absl::Status status = WriteFile(dir + "/config_cmd", kConfigCmd, 0755);
  if (status.ok()) status = WriteFile(dir + "/name", contents.name + "\n", 0644);
  if (status.ok()) status = WriteFile(dir + "/admin_ip", contents.admin_ip + "\n", 0644);
  if (status.ok()) status = WriteFile(dir + "/authorized_keys", contents.authorized_keys, 0644);
  if (status.ok()) {
    unlink(image_path.c_str());
    status = Run({"mkfs.ext2", "-q", "-F", "-L", "clownix-cfg", "-d", dir, image_path, "1M"}, log);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  std::filesystem::remove(log, ignored);
  if (!status.ok()) std::filesystem::remove(image_path, ignored);
  return status;
}

}  // namespace clownix::vmm
