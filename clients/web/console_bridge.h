// ConsoleBridge: one Machines.Console call, bridged to a page's terminal (gRPC's callback API).
//
// One read is always outstanding: each output chunk goes to the sink. Input is queued and written
// one message at a time (the first message names the VM). The call ends when the VM's console
// goes away (halt, crash, clownixd restart), when clownixd refuses it, or on Close(); the sink
// then gets OnEnd once with the call's status, and nothing after. The bridge is shared: gRPC's
// reactor keeps itself alive until OnDone, the page keeps it to write and close.
//
// Writes start outside reactions (when the page types), so the bridge holds the call open
// (AddHold) until it stops writing: on Close, or when the read side ends. The hold is released
// only while no write is in flight, and no write starts after it: so OnDone, which may delete
// the bridge, never races a StartWrite.
#ifndef CLOWNIX_CLIENTS_WEB_CONSOLE_BRIDGE_H_
#define CLOWNIX_CLIENTS_WEB_CONSOLE_BRIDGE_H_

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "proto/clownix/v1/machines.grpc.pb.h"

namespace clownix::web {

class ConsoleBridge : public grpc::ClientBidiReactor<v1::ConsoleRequest, v1::ConsoleResponse> {
 public:
  // Called on gRPC's threads; must only hand over (post), never block.
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void OnOutput(std::string bytes) = 0;
    virtual void OnEnd(absl::Status status) = 0;
  };

  // Starts the console of `vm` with the page's `token`; `size`, when given, is the terminal's
  // (ConsoleRequest.window_size). `stub` outlives the call.
  static std::shared_ptr<ConsoleBridge> Start(v1::Machines::Stub* stub, const std::string& vm,
                                              const std::string& token,
                                              std::optional<v1::ConsoleWindowSize> size,
                                              std::shared_ptr<Sink> sink);

  // Types `input` into the console. Ignored once the call ended. Thread-safe.
  void Send(std::string input);
  // The page's terminal has this size now; in order with Send. Ignored once the call ended.
  // Thread-safe.
  void Resize(v1::ConsoleWindowSize size);
  // Ends the call (the sink still gets OnEnd). Thread-safe, idempotent.
  void Close();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  explicit ConsoleBridge(std::shared_ptr<Sink> sink) : sink_(std::move(sink)) {}
  // Starts the next queued write when none is in flight. Called without mu_ held.
  void MaybeWrite();
  // Stops writing and releases the hold once no write is in flight; `cancel` also cancels the
  // call (the page left). Touches nothing after releasing the hold: OnDone may delete this.
  void Finish(bool cancel);

  grpc::ClientContext context_;
  std::shared_ptr<Sink> sink_;
  v1::ConsoleResponse response_;
  std::shared_ptr<ConsoleBridge> self_;  // set from Start to OnDone

  absl::Mutex mu_;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;        // no more writes
  bool hold_released_ ABSL_GUARDED_BY(mu_) = false;  // RemoveHold called (or being called)
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::ConsoleRequest> queue_ ABSL_GUARDED_BY(mu_);
  v1::ConsoleRequest in_flight_;  // the message being written; touched by the writer only
};

}  // namespace clownix::web

#endif  // CLOWNIX_CLIENTS_WEB_CONSOLE_BRIDGE_H_
