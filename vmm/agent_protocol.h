// Wire format of the clownix guest agent, the one place it is written down.
//
// Transport: the VM's second serial line, /dev/ttyS1 in the guest. On the host it is a pty:
// its master is handed to UML as `ssl1=fd:5,fd:5`, UML also inherits (and only holds) a slave
// as fd 6, so the line never hangs up when clownix exits; clownix opens the slave by path
// (readlink /proc/PID/fd/6 after a restart). Both ends are raw (no echo, no CR/LF
// translation). The guest side is vmm/rootfs/guest/clownix_agent.cc (a static program), started by
// busybox init (and respawned if it dies).
//
// Readiness: the host pings as soon as the VM is spawned (the ping waits in the line). When the
// agent has opened its line it also writes "agent-ready NAME" to /proc/mconsole, which UML
// forwards to the VM's notify socket (mconsole_wire.h, USER_NOTIFY); the host pings again
// (agent restarts, reboots). The VM is RUNNING once the pong to the latest ping arrives.
//
// Flow control: the guest's tty must never fill. Debian's UML kernel (6.1) stops the line for good
// once it has throttled it, at 3968 unread bytes (line_throttle turns the line's interrupt off and
// line_unthrottle never turns it back on; measured: after one request of 4 KiB the agent never
// heard from the host again). So a request line is at most kMaxRequestBytes, the agent says how
// many bytes it has read ("A read N", after each read, before acting on them), and the host keeps
// at most AgentChannel::kLineBudget bytes unread, waiting for room before it writes more. It
// waits only once it has seen an "A read": an agent older than this never sends one.
//
// Framing: one message per line, fields separated by one space, terminated by '\n'. IDs are
// chosen by the host, [A-Za-z0-9.-]{1,40}, unique per request; replies carry the request's ID,
// so any number of requests may be in flight and replies come back in any order. Lines that
// do not parse as a reply (noise left in the pty, echo before the agent set raw mode) are
// ignored. Replies are written whole by one writer in the guest, so they never interleave.
//
// host -> guest
//   Q ping ID
//   Q exec ID TIMEOUT_S CAP BASE64(command)   command is run by /bin/sh in its own session,
//                                             stdin /dev/null, stdout+stderr captured; after
//                                             TIMEOUT_S seconds its whole session is SIGKILLed.
// guest -> host
//   A ready BOOT_ID LPJ                       once per agent start; LPJ is the guest kernel's
//                                             calibrated loops_per_jiffy (0 if unknown), which
//                                             the host passes to later boots to skip calibration
//   A pong ID
//   A read N                                  N > 0 bytes of the line read since the last one
//   A exec ID RC TOTAL BASE64(output)         RC: exit status (128+N when killed by signal N)
//                                             or the word "timeout"; TOTAL: bytes of output
//                                             produced; output: the first CAP of them.
#ifndef CLOWNIX_VMM_AGENT_PROTOCOL_H_
#define CLOWNIX_VMM_AGENT_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::vmm {

// Encoding and parsing; stateless and thread-safe.
class AgentProtocol {
 public:
  // The longest request line (with its '\n'), well under the 3968 bytes the guest's tty holds
  // (flow control, above), and the longest command, whose exec request fits in it.
  static constexpr size_t kMaxRequestBytes = 3072;
  static constexpr size_t kMaxCommandBytes = 2048;
  static constexpr size_t kMaxOutputCap = 1024 * 1024;

  struct Reply {
    enum Kind { kReady, kPong, kExec, kRead } kind;
    std::string id;           // Request ID (boot id for kReady).
    int64_t lpj = 0;          // kReady only.
    uint64_t bytes_read = 0;  // kRead only.
    bool timed_out = false;
    int exit_code = 0;
    uint64_t total_output_bytes = 0;
    std::string output;
  };

  // OK when `id` may be used as a request ID.
  static absl::Status ValidateId(absl::string_view id);
  // "Q ping ID\n".
  static absl::StatusOr<std::string> EncodePing(absl::string_view id);
  // "Q exec ID T CAP B64\n". INVALID_ARGUMENT for an empty or oversized command, a timeout
  // outside 1..86400 s or a cap above kMaxOutputCap.
  static absl::StatusOr<std::string> EncodeExec(absl::string_view id, absl::string_view command,
                                                int timeout_s, size_t cap);
  // A /bin/sh command line that runs `argv` exactly, each word single-quoted, so no value is
  // ever interpreted by the shell. INVALID_ARGUMENT for an empty argv or a NUL byte.
  static absl::StatusOr<std::string> QuoteArgv(const std::vector<std::string>& argv);
  // Parses one line (without its '\n'). INVALID_ARGUMENT when it is not a reply.
  static absl::StatusOr<Reply> ParseReply(absl::string_view line);
  // The ID of a line that starts as an exec reply ("A exec ID ..."), whether or not the rest
  // parses; "" otherwise. Lets a caller fail the request a malformed reply answers.
  static std::string ExecReplyId(absl::string_view line);
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_AGENT_PROTOCOL_H_
