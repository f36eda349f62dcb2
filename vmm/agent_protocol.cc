#include "vmm/agent_protocol.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace clownix::vmm {

absl::Status AgentProtocol::ValidateId(absl::string_view id) {
  if (id.empty() || id.size() > 40) {
    return absl::InvalidArgumentError("agent request id must have 1..40 characters");
  }
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrFormat("agent request id \"%s\" has a bad character", absl::CEscape(id)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AgentProtocol::EncodePing(absl::string_view id) {
  if (absl::Status s = ValidateId(id); !s.ok()) return s;
  return absl::StrCat("Q ping ", id, "\n");
}

absl::StatusOr<std::string> AgentProtocol::EncodeExec(absl::string_view id,
                                                      absl::string_view command, int timeout_s,
                                                      size_t cap) {
  if (absl::Status s = ValidateId(id); !s.ok()) return s;
  if (command.empty() || command.size() > kMaxCommandBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("command of %d bytes (must be 1..%d: a longer script goes into the VM's "
                        "guest files, and the command runs it)",
                        command.size(), kMaxCommandBytes));
  }
  if (timeout_s < 1 || timeout_s > 86400) {
    return absl::InvalidArgumentError(
        absl::StrFormat("exec timeout of %d s (must be 1..86400)", timeout_s));
  }
  if (cap > kMaxOutputCap) {
    return absl::InvalidArgumentError(
        absl::StrFormat("output cap of %d bytes (at most %d)", cap, kMaxOutputCap));
  }
  std::string request =
      absl::StrCat("Q exec ", id, " ", timeout_s, " ", cap, " ", absl::Base64Escape(command), "\n");
  // Base64 of kMaxCommandBytes (2732 bytes) with the longest id and numbers: 2795 bytes at most.
  static_assert((kMaxCommandBytes + 2) / 3 * 4 + 64 <= kMaxRequestBytes);
  return request;
}

absl::StatusOr<std::string> AgentProtocol::QuoteArgv(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  std::string out;
  for (const std::string& word : argv) {
    if (word.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("argv word holds a NUL byte");
    }
    if (!out.empty()) out += ' ';
    out += '\'';
    for (char c : word) {
      if (c == '\'') {
        out += "'\\''";  // Close, escaped quote, reopen.
      } else {
        out += c;
      }
    }
    out += '\'';
  }
  return out;
}

absl::StatusOr<AgentProtocol::Reply> AgentProtocol::ParseReply(absl::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("not an agent reply: \"", absl::CEscape(line.substr(0, 80)), "\""));
  };
  if (f.size() < 3 || f[0] != "A") return bad();
  Reply r;
  r.id = std::string(f[2]);
  if (f[1] == "ready" && (f.size() == 3 || f.size() == 4)) {
    r.kind = Reply::kReady;
    if (f.size() == 4 && (!absl::SimpleAtoi(f[3], &r.lpj) || r.lpj < 0)) return bad();
    return r;
  }
  if (f[1] == "read" && f.size() == 3) {
    r.kind = Reply::kRead;
    r.id.clear();
    if (!absl::SimpleAtoi(f[2], &r.bytes_read) || r.bytes_read == 0) return bad();
    return r;
  }
  if (!ValidateId(f[2]).ok()) return bad();
  if (f[1] == "pong" && f.size() == 3) {
    r.kind = Reply::kPong;
    return r;
  }
  if (f[1] == "exec" && (f.size() == 5 || f.size() == 6)) {
    r.kind = Reply::kExec;
    if (f[3] == "timeout") {
      r.timed_out = true;
    } else if (!absl::SimpleAtoi(f[3], &r.exit_code) || r.exit_code < 0 || r.exit_code > 255) {
      return bad();
    }
    if (!absl::SimpleAtoi(f[4], &r.total_output_bytes)) return bad();
    if (f.size() == 6 && !absl::Base64Unescape(f[5], &r.output)) return bad();
    return r;
  }
  return bad();
}

std::string AgentProtocol::ExecReplyId(absl::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(' ', 3));
  if (f.size() < 3 || f[0] != "A" || f[1] != "exec" || !ValidateId(f[2]).ok()) return "";
  return std::string(f[2]);
}

}  // namespace clownix::vmm
