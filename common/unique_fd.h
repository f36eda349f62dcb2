// UniqueFd: owns one file descriptor and closes it when destroyed. Move-only.
#ifndef CLOWNIX_COMMON_UNIQUE_FD_H_
#define CLOWNIX_COMMON_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace clownix::common {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  // Closes the current descriptor (its close error, EINTR or EIO on a file nobody wrote through
  // this descriptor, is not actionable) and takes `fd`.
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace clownix::common

#endif  // CLOWNIX_COMMON_UNIQUE_FD_H_
