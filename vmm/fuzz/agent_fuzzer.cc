// libFuzzer target: the guest agent's wire format (agent_protocol.h) and the host's end of the line
// (AgentChannel), fed what a hostile guest could write.
// Mode 0, a reply line: ParseReply never crashes; what it accepts is well formed (IDs valid, exit
// codes 0..255) and prints back to a line that parses the same.
// Mode 1, requests: what EncodeExec accepts is one line whose command decodes back; what QuoteArgv
// accepts splits back, by the shell's quoting rules, into the same words.
// Mode 2, the line: arbitrary bytes in arbitrary chunks reach an AgentChannel while an exec waits;
// afterwards a newline and the real reply still complete the call (unless the garbage itself
// answered it), and the pong to a new ping is still seen.
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "vmm/agent_channel.h"
#include "vmm/agent_protocol.h"

namespace {

using clownix::vmm::AgentChannel;
using clownix::vmm::AgentProtocol;

void Fail(const std::string& what, absl::string_view input) {
  std::cerr << "agent_fuzzer: " << what << ": \"" << absl::CHexEscape(input.substr(0, 400))
            << "\"\n";
  abort();
}

std::string Print(const AgentProtocol::Reply& r) {
  switch (r.kind) {
    case AgentProtocol::Reply::kReady:
      return absl::StrCat("A ready ", r.id, " ", r.lpj);
    case AgentProtocol::Reply::kPong:
      return absl::StrCat("A pong ", r.id);
    case AgentProtocol::Reply::kExec:
      return absl::StrCat("A exec ", r.id, " ",
                          r.timed_out ? "timeout" : std::to_string(r.exit_code), " ",
                          r.total_output_bytes, " ", absl::Base64Escape(r.output));
  }
  return "";
}

bool Same(const AgentProtocol::Reply& a, const AgentProtocol::Reply& b) {
  return a.kind == b.kind && a.id == b.id && a.lpj == b.lpj && a.timed_out == b.timed_out &&
         a.exit_code == b.exit_code && a.total_output_bytes == b.total_output_bytes &&
         a.output == b.output;
}

void CheckReplyLine(const std::string& line) {
  absl::StatusOr<AgentProtocol::Reply> r = AgentProtocol::ParseReply(line);
  if (!r.ok()) {
    if (r.status().code() != absl::StatusCode::kInvalidArgument) Fail("odd refusal code", line);
    return;
  }
  if (r->kind != AgentProtocol::Reply::kReady && !AgentProtocol::ValidateId(r->id).ok()) {
    Fail("a reply with a bad id is accepted", line);
  }
  if (r->kind == AgentProtocol::Reply::kExec) {
    if (!r->timed_out && (r->exit_code < 0 || r->exit_code > 255)) Fail("bad exit code", line);
    if (AgentProtocol::ExecReplyId(line) != r->id) Fail("ExecReplyId disagrees", line);
  }
  if (r->lpj < 0) Fail("negative lpj", line);
  if (r->kind == AgentProtocol::Reply::kReady && r->id.find(' ') != std::string::npos) {
    Fail("a boot id with a space", line);
  }
  const std::string printed = Print(*r);
  absl::StatusOr<AgentProtocol::Reply> again = AgentProtocol::ParseReply(printed);
  if (!again.ok() || !Same(*r, *again)) Fail("does not print back", printed);
}

// Splits a command line the way /bin/sh does for words QuoteArgv writes: single-quoted strings
// (no escapes inside), backslash-escaped characters and unquoted runs, separated by spaces.
std::optional<std::vector<std::string>> ShellSplit(absl::string_view line) {
  std::vector<std::string> words;
  std::optional<std::string> word;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == ' ') {
      if (word) words.push_back(*std::move(word));
      word.reset();
    } else if (c == '\'') {
      size_t end = line.find('\'', i + 1);
      if (end == absl::string_view::npos) return std::nullopt;
      word = word.value_or("") + std::string(line.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '\\') {
      if (++i == line.size()) return std::nullopt;
      word = word.value_or("") + line[i];
    } else {
      return std::nullopt;  // QuoteArgv leaves nothing unquoted.
    }
  }
  if (word) words.push_back(*std::move(word));
  return words;
}

void CheckRequests(FuzzedDataProvider& in) {
  const std::string id = in.ConsumeRandomLengthString(50);
  const int timeout = in.ConsumeIntegralInRange(-1, 86401);
  const size_t cap = in.ConsumeIntegralInRange<size_t>(0, AgentProtocol::kMaxOutputCap + 1);
  std::vector<std::string> argv;
  const int words = in.ConsumeIntegralInRange(0, 6);
  for (int i = 0; i < words; ++i) argv.push_back(in.ConsumeRandomLengthString(40));
  const std::string command = in.ConsumeRemainingBytesAsString();

  absl::StatusOr<std::string> ping = AgentProtocol::EncodePing(id);
  if (ping.ok() != AgentProtocol::ValidateId(id).ok()) Fail("EncodePing and ValidateId", id);
  if (ping.ok() && *ping != absl::StrCat("Q ping ", id, "\n")) Fail("a bad ping", *ping);

  absl::StatusOr<std::string> exec = AgentProtocol::EncodeExec(id, command, timeout, cap);
  if (exec.ok()) {
    if (command.empty() || command.size() > AgentProtocol::kMaxCommandBytes) {
      Fail("EncodeExec accepts a command of a bad size", command);
    }
    if (exec->find('\n') != exec->size() - 1) Fail("an exec request is not one line", *exec);
    std::vector<std::string> f = absl::StrSplit(exec->substr(0, exec->size() - 1), ' ');
    std::string decoded;
    if (f.size() != 6 || f[0] != "Q" || f[1] != "exec" || f[2] != id ||
        f[3] != std::to_string(timeout) || f[4] != std::to_string(cap) ||
        !absl::Base64Unescape(f[5], &decoded) || decoded != command) {
      Fail("an exec request does not read back", *exec);
    }
  }

  absl::StatusOr<std::string> quoted = AgentProtocol::QuoteArgv(argv);
  if (!quoted.ok()) return;
  std::optional<std::vector<std::string>> back = ShellSplit(*quoted);
  if (!back || *back != argv) Fail("QuoteArgv does not split back", *quoted);
}

// Whether `fd` has bytes to read now.
bool Readable(int fd) {
  pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

// Reads one '\n'-terminated line from `fd` within a few seconds.
std::string ReadLine(int fd) {
  std::string line;
  char c;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 100) != 1) continue;
    if (read(fd, &c, 1) != 1) break;
    if (c == '\n') {
      if (line.empty()) continue;
      return line;
    }
    line += c;
  }
  Fail("no request on the line", line);
  return "";
}

void WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n <= 0) Fail("cannot write the guest's side", bytes);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void CheckLine(FuzzedDataProvider& in) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) abort();
  const int guest = fds[1];
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  AgentChannel channel{clownix::common::UniqueFd(fds[0])};
  auto pump = [&] {
    while (Readable(channel.fd())) {
      if (channel.OnReadable(false).closed) Fail("the line counts as closed", "");
    }
  };

  absl::StatusOr<AgentProtocol::Reply> reply;
  std::atomic<bool> done{false};
  const std::string request = *AgentProtocol::EncodeExec("fuzz.1", "true", 5, 1024);
  std::thread caller([&] {
    reply = channel.Call("fuzz.1", request, absl::Now() + absl::Seconds(5));
    done = true;
  });
  ReadLine(guest);  // The request is out: the call waits.
  std::string garbage;
  while (in.remaining_bytes() > 0) {
    const std::string chunk = in.ConsumeRandomLengthString(4096);
    garbage += chunk;
    WriteAll(guest, chunk);
    pump();
  }
  WriteAll(guest, "\nA exec fuzz.1 3 2 b2s=\n");
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!done && absl::Now() < deadline) {
    pollfd p = {channel.fd(), POLLIN, 0};
    if (poll(&p, 1, 1) == 1) pump();
  }
  caller.join();
  const bool answered_by_garbage = absl::StrContains(garbage, "A exec fuzz.1");
  if (!answered_by_garbage &&
      (!reply.ok() || reply->exit_code != 3 || reply->output != "ok" || reply->id != "fuzz.1")) {
    Fail("the reply after garbage is lost: " + reply.status().ToString(), garbage);
  }
  if (!reply.ok() && reply.status().code() != absl::StatusCode::kInternal) {
    Fail("the call failed oddly: " + reply.status().ToString(), garbage);
  }

  if (!channel.Ping("fuzz.2").ok()) Fail("cannot ping", garbage);
  if (ReadLine(guest) != "Q ping fuzz.2") Fail("a bad ping on the line", garbage);
  WriteAll(guest, "\nA pong fuzz.2\n");
  bool answered = false;
  for (int i = 0; i < 100 && !answered; ++i) {
    pollfd p = {channel.fd(), POLLIN, 0};
    if (poll(&p, 1, 50) == 1) answered = channel.OnReadable(false).ping_answered;
  }
  if (!answered) Fail("the pong after garbage is lost", garbage);
  close(guest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0:
      CheckReplyLine(in.ConsumeRemainingBytesAsString());
      break;
    case 1:
      CheckRequests(in);
      break;
    case 2:
      CheckLine(in);
      break;
  }
  return 0;
}
