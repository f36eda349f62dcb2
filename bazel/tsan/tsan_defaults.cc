// ThreadSanitizer's defaults for every --config=tsan binary, read by the TSAN runtime at start
// (the hooks are documented in sanitizer/tsan_interface.h). They are here rather than in
// TSAN_OPTIONS so a test binary run by hand behaves as under `bazel test`.
//
// Debian's libraries (gRPC, protobuf, Abseil, libstdc++) are not instrumented: TSAN sees neither
// their memory accesses nor the atomics and lock-free queues they order threads with. It would
// still see the libc calls they make (memcpy into a buffer recvmsg filled on another thread,
// free of an object another thread used last), and report each as a race against the other
// thread with no ordering in sight. Hence:
// - ignore_noninstrumented_modules: libc calls made by uninstrumented libraries are not checked,
//   the same treatment as the rest of their code. Locks and thread creation still count, and so do
//   absl::Mutex operations (absl_sync_annotations.cc). Every call made by our code is checked.
// - halt_on_error: the first report fails the test, with the report at the end of its log.
// - second_deadlock_stack: lock-order reports show where both locks were taken.
extern "C" const char* __tsan_default_options() {
  return "ignore_noninstrumented_modules=1:halt_on_error=1:second_deadlock_stack=1";
}

// Suppressions: only for races inside the code of an uninstrumented library, never one whose
// accesses are in our code.
extern "C" const char* __tsan_default_suppressions() {
  return
      // gRPC's C++ API is partly templates in its headers, compiled into our binaries with
      // instrumentation, while the ordering between the thread that starts a batch (FillOps,
      // ServerSendStatus, under a reactor's StartWrite/Finish) and the thread that completes it
      // (CallOpSet::FinalizeResult, CallbackWithSuccessTag::Run) happens inside libgrpc. race_top
      // matches only the innermost frame of an access, so a race in our own reactor code, even
      // when gRPC called it, is still reported.
      "race_top:grpc::internal::\n";
}
