// AgentChannel: the host's end of one VM's agent line (wire format: agent_protocol.h).
//
// How it works. Callers write whole requests, one writer at a time, and wait for the reply that
// carries their request id; the event loop calls OnReadable when the line has bytes, which splits
// them into lines, hands each exec reply to the caller waiting for its id (replies come back in
// any order) and reports the pong to the latest ping (the VM is RUNNING once it arrives). Lines
// that are not replies are noise and skipped. Close fails every waiting call: the VM died or
// rebooted, or the line hung up. A channel is never reopened; VmManager makes a new one when it
// attaches the line again.
#ifndef CLOWNIX_VMM_AGENT_CHANNEL_H_
#define CLOWNIX_VMM_AGENT_CHANNEL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "vmm/agent_protocol.h"

namespace clownix::vmm {

// Thread-safety: every method may be called from any thread; OnReadable by one thread at a time.
class AgentChannel {
 public:
  // What one OnReadable reads at most, and the longest line kept (a base64 exec reply of
  // AgentProtocol::kMaxOutputCap bytes, with room to spare).
  static constexpr size_t kMaxReadBytes = 256 * 1024;
  static constexpr size_t kMaxLineBytes = 4 * AgentProtocol::kMaxOutputCap;
  // At most this many bytes written and not yet read by the agent, once it acknowledges what it
  // reads (agent_protocol.h, flow control): one request of the longest kind fits. The 896 bytes
  // up to the 3968 the guest's tty holds are for the writers that never wait (pings, CallAsync).
  static constexpr size_t kLineBudget = AgentProtocol::kMaxRequestBytes;

  // `line`: clownix's end of the line (the agent pty's slave, pty.h; in tests any non-blocking
  // descriptor pair's end), read and written.
  explicit AgentChannel(common::UniqueFd line);
  // Closes (CANCELLED): waiting async calls get their callback.
  ~AgentChannel();

  AgentChannel(const AgentChannel&) = delete;
  AgentChannel& operator=(const AgentChannel&) = delete;

  // The line's descriptor, for the event loop. Valid as long as the channel lives.
  int fd() const { return line_.get(); }

  // Pings with request id `id`; from now on only the pong to this id counts. Never blocks (it is
  // called on the event loop): UNAVAILABLE when a request is being written at that moment or the
  // line has no room, and the ping is then lost.
  absl::Status Ping(const std::string& id);

  struct ReadResult {
    bool ping_answered = false;  // The pong to the latest ping arrived.
    int64_t ready_lpj = 0;       // > 0: an agent announced itself with this loops_per_jiffy.
    bool closed = false;         // The line hung up: the caller Closes the channel.
  };
  // Reads what the line holds, up to kMaxReadBytes (the rest waits for the next call: the event
  // loop must be level-triggered), and completes the calls whose replies arrived. A malformed line
  // that starts as the exec reply to a waiting call fails that call with INTERNAL; other lines
  // that are not replies are skipped, and a line longer than kMaxLineBytes is dropped. `hangup`:
  // the event loop saw EPOLLHUP/EPOLLERR (the line counts as closed if nothing could be read).
  ReadResult OnReadable(bool hangup);

  // Writes `request` (AgentProtocol::EncodeExec with id `id`) and waits for its reply until
  // `deadline`. UNAVAILABLE: the channel is or gets closed (the message is Close's) or the line
  // refused the request; DEADLINE_EXCEEDED: no reply by then; INTERNAL: the reply is malformed.
  // Concurrent calls are independent.
  absl::StatusOr<AgentProtocol::Reply> Call(const std::string& id, absl::string_view request,
                                            absl::Time deadline);

  // Call without a waiting thread (the event loop's way): writes `request` and returns, without
  // waiting for the agent to read earlier requests; `done` gets the reply later,
  // on the thread that reads it (OnReadable) or closes the channel (Close: UNAVAILABLE or what
  // Close was given), or now when the write fails. `done` runs once, with no lock of the channel
  // held. There is no deadline on this side: the guest's own timeout (in the request) ends the
  // command, and the VM's end or reboot closes the channel.
  using Done = std::function<void(absl::StatusOr<AgentProtocol::Reply>)>;
  void CallAsync(const std::string& id, absl::string_view request, absl::Time write_deadline,
                 Done done);

  // Writes `request` without waiting for any reply (e.g. a poweroff, whose agent dies with the
  // guest). UNAVAILABLE when closed; errors of WriteToLine.
  absl::Status Send(absl::string_view request, absl::Time deadline);

  // Fails every waiting and later Call with `why`. Idempotent (the first reason stays).
  void Close(const absl::Status& why);

 private:
  struct Pending {
    bool done = false;
    absl::Status error;
    AgentProtocol::Reply reply;
    Done on_done;  // Set for CallAsync: called (outside mu_) instead of waking a waiting Call.
  };
  // A CallAsync whose reply arrived or failed; its callback runs once mu_ is released.
  struct Completion {
    Done on_done;
    absl::StatusOr<AgentProtocol::Reply> reply;
  };
  // Writes `request` (at most AgentProtocol::kMaxRequestBytes) in one piece. `wait_for_room`: first
  // waits, until `deadline` (DEADLINE_EXCEEDED), until the agent has read enough that at most
  // kLineBudget bytes stay unread; never while holding write_mu_, so that the event loop, which
  // reads the agent's acknowledgements, never waits for a writer that waits for them. Errors of
  // WriteToLine; closed_ when closed meanwhile.
  absl::Status WriteRequest(absl::string_view request, absl::Time deadline, bool wait_for_room)
      ABSL_LOCKS_EXCLUDED(write_mu_, mu_);
  // OnReadable's part under mu_: splits `got` into lines and completes the calls they answer.
  void ReadLines(ReadResult* result, const std::string& got, std::vector<Completion>* completions)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Marks `pending` done with `reply`; an async one is moved into `completions` (and deleted).
  static void Complete(Pending* pending, absl::StatusOr<AgentProtocol::Reply> reply,
                       std::vector<Completion>* completions);

  const common::UniqueFd line_;
  absl::Mutex write_mu_;  // One writer at a time, so requests never interleave on the line.
  absl::Mutex mu_;
  // Owned by the waiting Call, or (on_done set) by the map until completed.
  std::map<std::string, Pending*> pending_ ABSL_GUARDED_BY(mu_);
  std::string ping_id_ ABSL_GUARDED_BY(mu_);
  std::string buffer_ ABSL_GUARDED_BY(mu_);      // Bytes read after the last complete line.
  size_t scanned_ ABSL_GUARDED_BY(mu_) = 0;      // buffer_'s first bytes known to hold no '\n'.
  absl::Status closed_ ABSL_GUARDED_BY(mu_);     // Not OK once closed.
  bool acks_seen_ ABSL_GUARDED_BY(mu_) = false;  // The agent sends "A read": flow control is on.
  size_t unread_ ABSL_GUARDED_BY(mu_) = 0;       // Bytes written that the agent has not read.
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_AGENT_CHANNEL_H_
