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

// Suppressions: only for reports about gRPC's own memory and threads, whose ordering happens inside
// the uninstrumented libgrpc, never for one whose accesses are in our code.
//
// gRPC's C++ callback API is partly templates in its headers, compiled into our binaries with
// instrumentation. A thread of ours starts a batch (StartWrite, Finish: CallOpSet::FillOps) and a
// gRPC thread completes it (CallOpSet::FinalizeResult, CallbackWithSuccessTag::Run) and at the
// end destroys the call's request and response (DefaultMessageHolder); libgrpc orders the two
// with its completion queue, out of TSAN's sight.
extern "C" const char* __tsan_default_suppressions() {
  return
      // The batch's own state, read and written only by gRPC's header code. race_top matches the
      // innermost frame of an access only, so a race in our reactor code is still reported even
      // when gRPC called it.
      "race_top:grpc::internal::\n"
      // The same state, through std::function (the batch's serializer) assigned by gRPC.
      "race:grpc::internal::CallOpSendMessage::Set\n"
      // A response our code filled before Finish, destroyed by gRPC after the call ended. (A
      // write of ours after Finish would be hidden too: the reactors do none, Finish is their
      // last touch of the response.)
      "race:grpc::internal::DefaultMessageHolder<\n"
      // gRPC's own threads (timer, executor) that it stops after main returns.
      "thread:grpc_core::Thread::Thread\n";
}
