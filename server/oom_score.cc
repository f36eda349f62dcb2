#include "server/oom_score.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"

namespace clownix::server {

absl::Status SetOomScoreAdj(int value, const std::string& path) {
  // Opened without O_CREAT or O_TRUNC: /proc files take a plain write.
  common::UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  const std::string text = absl::StrCat(value, "\n");
  ssize_t n = write(fd.get(), text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) {
    return absl::ErrnoToStatus(n < 0 ? errno : EIO, absl::StrCat("write ", value, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace clownix::server
