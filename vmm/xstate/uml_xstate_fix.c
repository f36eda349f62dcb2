// LD_PRELOAD shim that lets UML 6.1 boot on hosts whose ptrace NT_X86_XSTATE regset is larger
// than UML 6.1's fixed buffer (2696 bytes in Debian's 6.1um4, as measured: HostProbe's
// kUmlXstateBytes in vmm/host_probe.h).
//
// How it works: the host kernel accepts PTRACE_SETREGSET(NT_X86_XSTATE) only with exactly the
// full regset size and fails anything else with EFAULT, which UML reports as
// "ptrace set fp regs failed, errno = 14". This shim intercepts ptrace(); for GETREGSET/SETREGSET
// of NT_X86_XSTATE with a buffer smaller than the host's regset it does the call with a
// full-size buffer instead:
//   GETREGSET: read everything, copy UML's prefix out.
//   SETREGSET: read the tracee's current full state, overlay UML's prefix, write it all back.
// The full size is learnt once, with a GETREGSET on a large buffer (the kernel writes back the
// true iov_len). Where UML's buffer already has the full size the call passes through untouched,
// so the shim is a no-op on hosts that do not need it. Every other request goes straight to
// glibc's own ptrace (found with dlsym(RTLD_NEXT)), keeping its PEEK* semantics.
//
// Written in C on purpose: it is loaded into a foreign process and must not pull in a C++
// runtime or run static constructors.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

// Largest regset we are prepared for. AMX tile data makes the x86 XSTATE area about 11 KiB;
// 64 KiB leaves room for future extensions. Static storage, because UML calls ptrace on its
// own small kernel stacks.
#define FULL_BUFFER_BYTES (64 * 1024)

typedef long (*ptrace_fn)(enum __ptrace_request, pid_t, void*, void*);

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char g_full[FULL_BUFFER_BYTES] __attribute__((aligned(64)));
static size_t g_full_size;  // 0 until learnt; guarded by g_lock.

static ptrace_fn RealPtrace(void) {
  static ptrace_fn real;
  if (real == NULL) real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
  return real;
}

// Fills g_full with the tracee's full XSTATE and returns its size, or -1 with errno set.
// Requires g_lock.
static long GetFull(ptrace_fn real, pid_t pid) {
  struct iovec full = {.iov_base = g_full, .iov_len = sizeof(g_full)};
  long rc = real(PTRACE_GETREGSET, pid, (void*)NT_X86_XSTATE, &full);
  if (rc < 0) return -1;
  g_full_size = full.iov_len;
  return (long)full.iov_len;
}

static long HandleXstate(ptrace_fn real, enum __ptrace_request request, pid_t pid,
                         struct iovec* uml) {
  pthread_mutex_lock(&g_lock);
  if (g_full_size != 0 && uml->iov_len >= g_full_size) {
    // Sizes already match (or UML's buffer is larger): nothing to fix.
    pthread_mutex_unlock(&g_lock);
    return real(request, pid, (void*)NT_X86_XSTATE, uml);
  }
  long full = GetFull(real, pid);
  if (full < 0) {
    int saved = errno;
    pthread_mutex_unlock(&g_lock);
    errno = saved;
    return -1;
  }
  if (uml->iov_len >= (size_t)full) {
    pthread_mutex_unlock(&g_lock);
    return real(request, pid, (void*)NT_X86_XSTATE, uml);
  }
  long rc = 0;
  if (request == PTRACE_GETREGSET) {
    memcpy(uml->iov_base, g_full, uml->iov_len);
  } else {
    memcpy(g_full, uml->iov_base, uml->iov_len);
    struct iovec out = {.iov_base = g_full, .iov_len = (size_t)full};
    rc = real(PTRACE_SETREGSET, pid, (void*)NT_X86_XSTATE, &out);
  }
  int saved = errno;
  pthread_mutex_unlock(&g_lock);
  errno = saved;
  return rc;
}

// glibc declares ptrace as variadic; every request passes at most pid, addr and data, and
// glibc itself reads exactly these three with va_arg.
long ptrace(enum __ptrace_request request, ...) {
  va_list ap;
  va_start(ap, request);
  pid_t pid = va_arg(ap, pid_t);
  void* addr = va_arg(ap, void*);
  void* data = va_arg(ap, void*);
  va_end(ap);

  ptrace_fn real = RealPtrace();
  if (real == NULL) {
    errno = ENOSYS;
    return -1;
  }
  if ((request == PTRACE_GETREGSET || request == PTRACE_SETREGSET) &&
      (unsigned long)addr == NT_X86_XSTATE && data != NULL) {
    return HandleXstate(real, request, pid, (struct iovec*)data);
  }
  return real(request, pid, addr, data);
}
