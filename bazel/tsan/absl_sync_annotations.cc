// Makes Debian's absl::Mutex, absl::CondVar and absl::Notification visible to ThreadSanitizer.
//
// Debian builds Abseil without -fsanitize=thread, so its Mutex (a futex word driven by atomics in
// uninstrumented code) orders nothing as far as TSAN can tell, and every ABSL_GUARDED_BY field
// would be reported as a race. This file, linked only into `--config=tsan` binaries (.bazelrc),
// defines the entry points that lock, unlock and wait. The executable's definitions come before
// libabsl_synchronization.so's in symbol lookup, so they catch every call: ours, and those from
// inside Abseil and gRPC, which go through the PLT (checked with objdump: Notification::Notify
// calls Mutex::Lock@plt). Each one tells TSAN what happens with the __tsan_mutex_* annotations
// (sanitizer/tsan_interface.h) and calls the real function, found with dlsym(RTLD_NEXT).
//
// The __tsan_mutex_pre_* calls also make TSAN ignore memory accesses until the matching post_*:
// absl evaluates Condition functions (our code, instrumented) inside Lock/Unlock/Await, with the
// mutex held by the evaluating thread but not yet or no longer by TSAN's account; ignoring them is
// what Abseil's own TSAN build does (ABSL_TSAN_MUTEX_PRE_*/POST_* in mutex.cc).
//
// A wait (Await, CondVar::Wait) is an unlock followed by a lock. When the condition already holds,
// nothing was released, so no other thread can have locked in between and the extra
// unlock/lock pair adds no ordering that did not happen.
//
// Compiled with clang only (--config=tsan uses //bazel/clang): g++ defines __SANITIZE_THREAD__,
// which adds two fields to protobuf's MapFieldBase (map_field.h) and breaks the ABI with Debian's
// uninstrumented libprotobuf (a crash in any map field); clang 14 does not define it.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/config.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CLOWNIX_TSAN 1
#endif
#endif
#if !defined(__SANITIZE_THREAD__) && !defined(CLOWNIX_TSAN)
#error "absl_sync_annotations.cc is only for -fsanitize=thread builds (--config=tsan)"
#endif

namespace {

#define CLOWNIX_STRINGIFY_INNER(x) #x
#define CLOWNIX_STRINGIFY(x) CLOWNIX_STRINGIFY_INNER(x)

// The mangled name of an Abseil symbol; `member` is what follows "_ZN4absl<inline namespace>",
// e.g. "5Mutex4LockEv" for absl::Mutex::Lock().
// A const member function's name starts "_ZNK".
std::string Mangled(const char* member, bool is_const = false) {
  const std::string ns = CLOWNIX_STRINGIFY(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  return std::string(is_const ? "_ZNK4absl" : "_ZN4absl") + std::to_string(ns.size()) + ns + member;
}

[[noreturn]] void Fail(const std::string& what) {
  // Never fall back silently: without the annotations every report would be noise.
  std::fprintf(stderr, "absl_sync_annotations: %s\n", what.c_str());
  std::abort();
}

// The real function, in libabsl_synchronization.so.
template <typename Fn>
Fn RealFn(const char* member, bool is_const = false) {
  void* fn = dlsym(RTLD_NEXT, Mangled(member, is_const).c_str());
  if (fn == nullptr) Fail(Mangled(member, is_const) + " not found in the loaded Abseil");
  return reinterpret_cast<Fn>(fn);
}

// At start: the definitions below must be the ones every caller reaches, or they annotate
// nothing. They are when this file is linked into the executable (--config=tsan sets
// --dynamic_mode=off); a shared library of it could come after Abseil in the lookup order.
__attribute__((constructor)) void CheckInterposed() {
  const std::string lock = Mangled("5Mutex4LockEv");
  if (dlsym(RTLD_DEFAULT, lock.c_str()) == dlsym(RTLD_NEXT, lock.c_str())) {
    Fail(
        "absl::Mutex::Lock resolves to Abseil's own definition, not this file's; link it into "
        "the executable");
  }
}

constexpr unsigned kRead = __tsan_mutex_read_lock;

// Whether `pc` is in the executable, where all instrumented code is (--dynamic_mode=off), rather
// than in a shared library (all of them uninstrumented Debian ones).
bool CalledFromExecutable(void* pc) {
  static void* const executable = [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&CheckInterposed), &info) == 0) Fail("dladdr failed");
    return info.dli_fbase;
  }();
  Dl_info info;
  return dladdr(pc, &info) != 0 && info.dli_fbase == executable;
}

// Some real functions call others of this file through the PLT (AwaitWithTimeout calls
// AwaitWithDeadline, CondVar::WaitWithTimeout calls WaitWithDeadline, ...): only the outermost
// call on a thread tells TSAN, or it would see the mutex released twice.
thread_local int depth = 0;
class Outermost {
 public:
  Outermost() : outermost_(depth++ == 0) {}
  ~Outermost() { --depth; }
  Outermost(const Outermost&) = delete;
  Outermost& operator=(const Outermost&) = delete;
  explicit operator bool() const { return outermost_; }

 private:
  const bool outermost_;
};

// Every successful lock first acquires what the mutex's previous holders released, and only then
// tells TSAN it holds the mutex. __tsan_mutex_post_lock checks a read of the mutex word before it
// acquires, so a mutex built and locked on one thread, then locked on another that got it through
// an ordering TSAN cannot see (gRPC builds a reactor in the handler and calls it back on its own
// thread after its uninstrumented completion queue), would be reported as a race between the
// mutex's construction and the second lock, although that lock is ordered after the first unlock
// and so after the construction. Acquiring first makes the check see that order. It hides nothing
// else: the acquire is of the same releases post_lock would acquire a moment later. (A mutex never
// locked before such a handover would still be reported: lock it in the constructor, as the
// reactors do.) TSAN ignores synchronization between pre_lock and post_lock, hence the divert.
void AcquirePreviousHolders(void* mu, unsigned flags) {
  __tsan_mutex_pre_divert(mu, flags);
  __tsan_acquire(mu);
  __tsan_mutex_post_divert(mu, flags);
}

// What each wrapped call does to its mutex, as TSAN is told; all four run `real` between the
// pre and post annotations, where TSAN ignores memory accesses. They return what `real` returns.
template <typename Real>
auto AsLock(void* mu, unsigned flags, Real real) {
  Outermost outer;
  if (!outer) return real();
  __tsan_mutex_pre_lock(mu, flags);
  struct Post {
    void* mu;
    unsigned flags;
    ~Post() {
      AcquirePreviousHolders(mu, flags);
      __tsan_mutex_post_lock(mu, flags, 0);
    }
  } post{mu, flags};
  return real();
}

template <typename Real>
bool AsTryLock(void* mu, unsigned flags, Real real) {
  Outermost outer;
  if (!outer) return real();
  __tsan_mutex_pre_lock(mu, flags | __tsan_mutex_try_lock);
  const bool locked = real();
  if (locked) AcquirePreviousHolders(mu, flags | __tsan_mutex_try_lock);
  __tsan_mutex_post_lock(
      mu, flags | __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}

template <typename Real>
void AsUnlock(void* mu, unsigned flags, Real real) {
  Outermost outer;
  if (!outer) return real();
  __tsan_mutex_pre_unlock(mu, flags);
  real();
  __tsan_mutex_post_unlock(mu, flags);
}

// A wait (Await*, CondVar::Wait*) releases the mutex and holds it again on return, met or not.
template <typename Real>
auto AsWait(void* mu, Real real) {
  Outermost outer;
  if (!outer) return real();
  __tsan_mutex_pre_unlock(mu, 0);
  __tsan_mutex_post_unlock(mu, 0);
  __tsan_mutex_pre_lock(mu, 0);
  struct Post {
    void* mu;
    ~Post() {
      AcquirePreviousHolders(mu, 0);
      __tsan_mutex_post_lock(mu, 0, 0);
    }
  } post{mu};
  return real();
}

// absl::Notification's layout in this Abseil version: HasBeenNotified() is inline (instrumented,
// an acquire load of notified_yet_), so Notify() must release that very address.
struct NotificationLayout {
  absl::Mutex mutex;
  std::atomic<bool> notified_yet;
};
static_assert(sizeof(NotificationLayout) == sizeof(absl::Notification),
              "absl::Notification's layout changed: update NotificationLayout");

constexpr unsigned kWrite = 0;

void* NotifiedYet(const absl::Notification* n) {
  return &reinterpret_cast<NotificationLayout*>(const_cast<absl::Notification*>(n))->notified_yet;
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

// Only a mutex destroyed by our (instrumented) code is announced. gRPC destroys its own after the
// last user lets go of a reference count, an ordering TSAN cannot see in uninstrumented code, so
// the destruction would look like a race with the last unlock; freeing the memory resets TSAN's
// state for it anyway.
Mutex::~Mutex() {
  static auto real = RealFn<void (*)(Mutex*)>("5MutexD2Ev");
  if (CalledFromExecutable(__builtin_return_address(0))) __tsan_mutex_destroy(this, 0);
  real(this);
}

void Mutex::Lock() {
  static auto real = RealFn<void (*)(Mutex*)>("5Mutex4LockEv");
  AsLock(this, kWrite, [&] { real(this); });
}

void Mutex::ReaderLock() {
  static auto real = RealFn<void (*)(Mutex*)>("5Mutex10ReaderLockEv");
  AsLock(this, kRead, [&] { real(this); });
}

bool Mutex::TryLock() {
  static auto real = RealFn<bool (*)(Mutex*)>("5Mutex7TryLockEv");
  return AsTryLock(this, kWrite, [&] { return real(this); });
}

bool Mutex::ReaderTryLock() {
  static auto real = RealFn<bool (*)(Mutex*)>("5Mutex13ReaderTryLockEv");
  return AsTryLock(this, kRead, [&] { return real(this); });
}

void Mutex::Unlock() {
  static auto real = RealFn<void (*)(Mutex*)>("5Mutex6UnlockEv");
  AsUnlock(this, kWrite, [&] { real(this); });
}

void Mutex::ReaderUnlock() {
  static auto real = RealFn<void (*)(Mutex*)>("5Mutex12ReaderUnlockEv");
  AsUnlock(this, kRead, [&] { real(this); });
}

void Mutex::LockWhen(const Condition& cond) {
  static auto real =
      RealFn<void (*)(Mutex*, const Condition&)>("5Mutex8LockWhenERKNS0_9ConditionE");
  AsLock(this, kWrite, [&] { real(this, cond); });
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static auto real =
      RealFn<void (*)(Mutex*, const Condition&)>("5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  AsLock(this, kRead, [&] { real(this, cond); });
}

// The *LockWhenWith* calls hold the mutex on return whether or not the condition was met.
bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static auto real = RealFn<bool (*)(Mutex*, const Condition&, Duration)>(
      "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return AsLock(this, kWrite, [&] { return real(this, cond, timeout); });
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  static auto real = RealFn<bool (*)(Mutex*, const Condition&, Time)>(
      "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return AsLock(this, kWrite, [&] { return real(this, cond, deadline); });
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static auto real = RealFn<bool (*)(Mutex*, const Condition&, Duration)>(
      "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return AsLock(this, kRead, [&] { return real(this, cond, timeout); });
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  static auto real = RealFn<bool (*)(Mutex*, const Condition&, Time)>(
      "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return AsLock(this, kRead, [&] { return real(this, cond, deadline); });
}

// Await* is called with the mutex held, exclusively or shared; the release and acquire TSAN
// records are the same either way.
void Mutex::Await(const Condition& cond) {
  static auto real = RealFn<void (*)(Mutex*, const Condition&)>("5Mutex5AwaitERKNS0_9ConditionE");
  AsWait(this, [&] { real(this, cond); });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  static auto real = RealFn<bool (*)(Mutex*, const Condition&, Duration)>(
      "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return AsWait(this, [&] { return real(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  static auto real = RealFn<bool (*)(Mutex*, const Condition&, Time)>(
      "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return AsWait(this, [&] { return real(this, cond, deadline); });
}

void CondVar::Wait(Mutex* mu) {
  static auto real = RealFn<void (*)(CondVar*, Mutex*)>("7CondVar4WaitEPNS0_5MutexE");
  AsWait(mu, [&] { real(this, mu); });
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  static auto real = RealFn<bool (*)(CondVar*, Mutex*, Duration)>(
      "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return AsWait(mu, [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  static auto real =
      RealFn<bool (*)(CondVar*, Mutex*, Time)>("7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return AsWait(mu, [&] { return real(this, mu, deadline); });
}

// A notification orders what happened before Notify() before whatever follows a wait that saw it.
// The waits take mutex_ (wrapped above) only when the notification has not happened yet; when it
// has, they and the inline HasBeenNotified() only load notified_yet_. So Notify releases that
// address and the waits acquire it.
void Notification::Notify() {
  static auto real = RealFn<void (*)(Notification*)>("12Notification6NotifyEv");
  __tsan_release(NotifiedYet(this));
  real(this);
}

void Notification::WaitForNotification() const {
  static auto real =
      RealFn<void (*)(const Notification*)>("12Notification19WaitForNotificationEv", true);
  real(this);
  __tsan_acquire(NotifiedYet(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  static auto real = RealFn<bool (*)(const Notification*, Duration)>(
      "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE", true);
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(NotifiedYet(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  static auto real = RealFn<bool (*)(const Notification*, Time)>(
      "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE", true);
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(NotifiedYet(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
