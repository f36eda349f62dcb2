// Drives the shim's ptrace() against a real tracee: a short SETREGSET(NT_X86_XSTATE), which the
// host kernel refuses when its regset is larger, must succeed through the shim and change
// exactly UML's prefix of the tracee's state.
#include <dlfcn.h>
#include <elf.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace {

using PtraceFn = long (*)(enum __ptrace_request, ...);

// UML 6.1's own struct _xstate (legacy area + header + YMM high halves).
constexpr size_t kUml61XstateBytes = 832;

class Tracee {
 public:
  Tracee() {
    pid_ = fork();
    if (pid_ == 0) {
      ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
      raise(SIGSTOP);
      _exit(0);
    }
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  ~Tracee() {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

size_t FullSize(pid_t pid) {
  std::vector<unsigned char> buf(64 * 1024);
  iovec iov = {buf.data(), buf.size()};
  EXPECT_EQ(ptrace(PTRACE_GETREGSET, pid, reinterpret_cast<void*>(NT_X86_XSTATE), &iov), 0);
  return iov.iov_len;
}

class XstateFixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    handle_ = dlopen("vmm/xstate/libuml_xstate_fix.so", RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    shim_ = reinterpret_cast<PtraceFn>(dlsym(handle_, "ptrace"));
    ASSERT_NE(shim_, nullptr);
  }
  void TearDown() override {
    if (handle_ != nullptr) dlclose(handle_);
  }
  void* handle_ = nullptr;
  PtraceFn shim_ = nullptr;
};

TEST_F(XstateFixTest, ShortSetSucceedsAndChangesOnlyThePrefix) {
  Tracee tracee;
  const size_t full = FullSize(tracee.pid());
  if (full <= kUml61XstateBytes) GTEST_SKIP() << "host regset is only " << full << " bytes";

  std::vector<unsigned char> before(full);
  iovec iov = {before.data(), full};
  ASSERT_EQ(ptrace(PTRACE_GETREGSET, tracee.pid(), reinterpret_cast<void*>(NT_X86_XSTATE), &iov),
            0);

  // Without the shim the kernel refuses the short write.
  std::vector<unsigned char> part(before.begin(), before.begin() + kUml61XstateBytes);
  iovec short_iov = {part.data(), part.size()};
  errno = 0;
  EXPECT_EQ(
      ptrace(PTRACE_SETREGSET, tracee.pid(), reinterpret_cast<void*>(NT_X86_XSTATE), &short_iov),
      -1);

  // Through the shim it works: change XMM0 (legacy area offset 160) and write 832 bytes.
  for (int i = 0; i < 16; ++i) part[160 + i] = static_cast<unsigned char>(0xA0 + i);
  ASSERT_EQ(
      shim_(PTRACE_SETREGSET, tracee.pid(), reinterpret_cast<void*>(NT_X86_XSTATE), &short_iov), 0)
      << strerror(errno);

  std::vector<unsigned char> after(full);
  iovec after_iov = {after.data(), full};
  ASSERT_EQ(
      ptrace(PTRACE_GETREGSET, tracee.pid(), reinterpret_cast<void*>(NT_X86_XSTATE), &after_iov),
      0);
  EXPECT_EQ(0, memcmp(after.data() + 160, part.data() + 160, 16));
  EXPECT_EQ(0, memcmp(after.data() + kUml61XstateBytes, before.data() + kUml61XstateBytes,
                      full - kUml61XstateBytes));

  // A short read through the shim returns the same prefix and leaves iov_len alone.
  std::vector<unsigned char> read_back(kUml61XstateBytes);
  iovec read_iov = {read_back.data(), read_back.size()};
  ASSERT_EQ(
      shim_(PTRACE_GETREGSET, tracee.pid(), reinterpret_cast<void*>(NT_X86_XSTATE), &read_iov), 0);
  EXPECT_EQ(read_iov.iov_len, kUml61XstateBytes);
  EXPECT_EQ(0, memcmp(read_back.data(), after.data(), kUml61XstateBytes));
}

TEST_F(XstateFixTest, FullSizeCallsPassThrough) {
  Tracee tracee;
  const size_t full = FullSize(tracee.pid());
  std::vector<unsigned char> buf(full);
  iovec iov = {buf.data(), full};
  ASSERT_EQ(shim_(PTRACE_GETREGSET, tracee.pid(), reinterpret_cast<void*>(NT_X86_XSTATE), &iov), 0);
  EXPECT_EQ(iov.iov_len, full);
  EXPECT_EQ(shim_(PTRACE_SETREGSET, tracee.pid(), reinterpret_cast<void*>(NT_X86_XSTATE), &iov), 0);
}

TEST_F(XstateFixTest, OtherRequestsKeepGlibcSemantics) {
  Tracee tracee;
  // PEEKUSER returns the word itself (glibc's convention), not 0.
  errno = 0;
  long word = shim_(PTRACE_PEEKUSER, tracee.pid(), nullptr, nullptr);
  EXPECT_EQ(errno, 0);
  EXPECT_EQ(word, ptrace(PTRACE_PEEKUSER, tracee.pid(), nullptr, nullptr));
  // An error from the real ptrace comes back as -1/errno.
  errno = 0;
  EXPECT_EQ(shim_(PTRACE_GETREGSET, 0x7fffffff, reinterpret_cast<void*>(NT_X86_XSTATE), nullptr),
            -1);
  EXPECT_EQ(errno, ESRCH);
}

}  // namespace
