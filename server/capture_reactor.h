// CaptureReactor: one Switch.Capture stream (proto/clownix/v1/switch.proto).
//
// How it works. A thread of its own (captures block on the switch, and gRPC's callback threads
// must not) starts the capture through the runtime, sends the file's header at once, then loops:
// it reads the switch's session (Read blocks until frames come or a deadline: no spinning),
// writes the frames into a CaptureFileWriter, and sends what it made once it holds
// `chunk_bytes` or its oldest frame waited `flush_after`. One write is in flight at a time and
// the thread waits for it before it reads again: a slow client slows the reads, the switch's
// ring fills and the switch drops (and counts) capture frames; clownixd never buffers more than
// a chunk per capture. Between reads it checks the limits and whether the target left the
// topology (SwitchBackend::Capture::TopologyStatus). At the end it sends the interface
// statistics and why it ended, then finishes the call with the matching status.
//
// Threading: the worker thread is the only one to start writes and to Finish; OnWriteDone and
// OnCancel only set state under mu_ (OnCancel also stops the session, outside the lock, so a
// blocked Read returns). No lock is held while blocked. OnDone joins the worker and deletes.
#ifndef CLOWNIX_SERVER_CAPTURE_REACTOR_H_
#define CLOWNIX_SERVER_CAPTURE_REACTOR_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/clownix/v1/switch.pb.h"
#include "server/runtime.h"

namespace clownix::server {

class CaptureReactor final : public grpc::ServerWriteReactor<clownix::v1::CaptureResponse> {
 public:
  // Starts the capture (SwitchBackend::StartCapture), or says why not.
  using Starter = std::function<absl::StatusOr<std::unique_ptr<SwitchBackend::Capture>>(
      const clownix::v1::CaptureRequest&)>;

  struct Options {
    // A message is sent once this much is ready...
    size_t chunk_bytes = 64 << 10;
    // ...or once its oldest frame waited this long.
    absl::Duration flush_after = absl::Milliseconds(50);
    // How long a Read waits with nothing to send: the longest it takes to notice that the
    // target left the topology.
    absl::Duration idle_wait = absl::Milliseconds(250);
  };

  // Runs the capture `request` asks for; deletes itself when the call is done.
  CaptureReactor(clownix::v1::CaptureRequest request, Starter start, Options options);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void Run();
  // Sends `response` and waits until it is written; false if the call is gone.
  bool Send(clownix::v1::CaptureResponse response);
  bool cancelled() const;

  const clownix::v1::CaptureRequest request_;
  const Starter start_;
  const Options options_;
  clownix::v1::CaptureResponse response_;  // the write in flight; the worker's between writes
  mutable absl::Mutex mu_;
  std::thread worker_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<SwitchBackend::Capture> capture_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool write_ok_ ABSL_GUARDED_BY(mu_) = true;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_CAPTURE_REACTOR_H_
