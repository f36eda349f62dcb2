#include "common/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace clownix::common {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::ErrnoToStatus(errno, absl::StrCat(what, " ", path));
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Closes `fd` when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    // A close error after a successful fsync loses nothing; before one, fsync reported it.
    if (fd_ >= 0) close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  const int fd_;
};

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  FdCloser closer(fd);
  std::string data;
  char chunk[1 << 16];
  while (true) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read", path);
    if (n == 0) break;
    if (data.size() + static_cast<size_t>(n) > max_bytes) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
    }
    data.append(chunk, static_cast<size_t>(n));
  }
  return data;
}

absl::StatusOr<std::string> ReadFileIfExists(const std::string& path, size_t max_bytes) {
  absl::StatusOr<std::string> data = ReadFile(path, max_bytes);
  if (absl::IsNotFound(data.status())) return std::string();
  return data;
}

absl::Status SyncDirectory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  FdCloser closer(fd);
  if (fsync(fd) != 0) return Errno("fsync", dir);
  return absl::OkStatus();
}

absl::Status WriteFileDurably(const std::string& path, absl::string_view contents, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Errno("create", tmp);
  absl::Status status = WriteAll(fd, contents, tmp);
  // open() applies the umask; the caller asked for exactly `mode`.
  if (status.ok() && fchmod(fd, mode) != 0) status = Errno("chmod", tmp);
  if (status.ok() && fsync(fd) != 0) status = Errno("fsync", tmp);
  if (close(fd) != 0 && status.ok()) status = Errno("close", tmp);
  if (status.ok() && rename(tmp.c_str(), path.c_str()) != 0) status = Errno("rename", tmp);
  if (!status.ok()) {
    // The temporary file is garbage whatever the error; failing to remove it changes nothing for
    // `path`, and the next write truncates it.
    unlink(tmp.c_str());
    return status;
  }
  return SyncDirectory(DirectoryOf(path));
}

}  // namespace clownix::common
