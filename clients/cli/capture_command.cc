#include "clients/cli/capture_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "clients/cli/capture_file_reader.h"
#include "clients/cli/frame_summary.h"
#include "clients/cli/values.h"

namespace clownix::cli {
namespace {

// The verb's short flags, tcpdump's letters, as the long ones ArgParser knows.
const std::map<std::string, std::string>& ShortFlags() {
  static const auto* flags = new std::map<std::string, std::string>{
      {"-f", "--filter"},   {"-c", "--count"}, {"-s", "--snaplen"},
      {"-d", "--duration"}, {"-w", "--write"},
  };
  return *flags;
}

// Ctrl-C (SIGINT) and SIGTERM end the capture: the handler writes to this pipe.
int interrupt_pipe[2] = {-1, -1};

extern "C" void OnInterrupt(int) {
  int saved = errno;
  ssize_t ignored = write(interrupt_pipe[1], "x", 1);  // nothing to do if it fails
  (void)ignored;
  errno = saved;
}

// Writes all of `data` to `fd`. The errno of a failure, or 0.
int WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

// "2" or "1.5" seconds, or a duration with a unit ("500ms", "2m"), in milliseconds.
absl::StatusOr<uint32_t> ParseSeconds(const std::string& word) {
  double seconds;
  if (!word.empty() && absl::ascii_isdigit(word.back()) && absl::SimpleAtod(word, &seconds)) {
    if (seconds < 0 || seconds > 4e6) {
      return absl::InvalidArgumentError(absl::StrCat("-d: \"", word, "\" is out of range"));
    }
    return static_cast<uint32_t>(seconds * 1000);
  }
  return ParseDurationMs("-d", word);
}

// The capture's target from the positionals: VM NIC, VM/NIC, tap:NAME, or one name (a LAN, or
// a tap when no LAN has that name).
absl::StatusOr<v1::CaptureRequest> Target(CommandEnv& env, const std::vector<std::string>& words,
                                          grpc::Status* rpc_error) {
  v1::CaptureRequest request;
  const std::string& first = words[0];
  if (words.size() == 2 || first.find('/') != std::string::npos ||
      absl::StartsWith(first, "tap:")) {
    size_t used = 0;
    absl::StatusOr<v1::Endpoint> endpoint = ParseEndpoint(words, &used);
    if (!endpoint.ok()) return endpoint.status();
    if (used != words.size()) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected \"", words[used], "\""));
    }
    *request.mutable_endpoint() = *std::move(endpoint);
    return request;
  }
  request.set_lan(first);
  v1::ListRequest list;
  v1::ListLansResponse lans;
  grpc::ClientContext lans_context;
  env.client().SetDeadline(lans_context);
  *rpc_error = env.client().topology().ListLans(&lans_context, list, &lans);
  if (!rpc_error->ok()) return request;
  for (const v1::Lan& lan : lans.lans()) {
    if (lan.name() == first) return request;
  }
  v1::ListTapsResponse taps;
  grpc::ClientContext taps_context;
  env.client().SetDeadline(taps_context);
  *rpc_error = env.client().topology().ListTaps(&taps_context, list, &taps);
  if (!rpc_error->ok()) return request;
  for (const v1::Tap& tap : taps.taps()) {
    if (tap.name() == first) request.mutable_endpoint()->set_tap(first);
  }
  return request;  // neither: the server says the LAN does not exist
}

}  // namespace

int RunCaptureCommand(CommandEnv& env, const std::vector<std::string>& args) {
  std::string filter, count = "0", snaplen = "0", duration, output;
  bool pcap = false;
  ArgParser parser(
      "clownix capture VM NIC | VM/NIC | tap:NAME | TAP | LAN [-f FILTER] [-c N] [-s SNAPLEN] "
      "[-d SECONDS] [-w FILE|-] [--pcap]",
      "Captures the frames of a VM NIC or a tap (both directions) or of a whole LAN, live.\n"
      "With -w FILE it writes a pcapng file (--pcap: classic pcap, one endpoint only); -w -\n"
      "writes it to stdout as it comes:  clownix capture vm1 eth1 -w - | tshark -r -\n"
      "Without -w it prints a line per frame: time, port, direction (in: the port sent it into\n"
      "the LAN; out: the LAN delivered it to the port), length, MACs, protocol summary.\n"
      "Ctrl-C ends it. Exit status 0 when it ended by a limit or Ctrl-C, 1 when the capture\n"
      "failed or was ended by the server (port gone, VM deleted, switch restart).");
  parser.AddString("filter", "FILTER",
                   "-f: capture filter in tcpdump syntax (\"icmp\", \"not arp\")", &filter);
  parser.AddString("count", "N", "-c: stop after N frames", &count);
  parser.AddString("snaplen", "BYTES", "-s: bytes kept of each frame (default: all)", &snaplen);
  parser.AddString("duration", "SECONDS", "-d: stop after this long (\"10\", \"1.5\", \"2m\")",
                   &duration);
  parser.AddString("write", "FILE", "-w: write the capture file there; - is stdout", &output);
  parser.AddBool("pcap", "classic pcap (nanosecond) instead of pcapng", &pcap);
  std::vector<std::string> translated;
  for (const std::string& arg : args) {
    auto it = ShortFlags().find(arg);
    translated.push_back(it == ShortFlags().end() ? arg : it->second);
  }
  if (int code = ParseOrExit(env, "capture", parser, translated); code >= 0) return code;
  absl::Status usage = parser.ExpectPositionals(1, 2, "VM NIC | tap:NAME | TAP | LAN");
  absl::StatusOr<uint64_t> max_frames = ParseUint64("-c", count);
  absl::StatusOr<uint32_t> snap = ParseUint32("-s", snaplen);
  absl::StatusOr<uint32_t> duration_ms = duration.empty() ? 0 : ParseSeconds(duration);
  for (const absl::Status& s : {max_frames.status(), snap.status(), duration_ms.status()}) {
    if (usage.ok()) usage = s;
  }
  if (!usage.ok()) return env.UsageError("capture", usage);

  grpc::Status list_error;
  absl::StatusOr<v1::CaptureRequest> request = Target(env, parser.positionals(), &list_error);
  if (!request.ok()) return env.UsageError("capture", request.status());
  if (!list_error.ok()) return env.RpcError(list_error);
  request->set_filter(filter);
  request->set_max_frames(*max_frames);
  request->set_snaplen(*snap);
  request->set_duration_ms(*duration_ms);
  request->set_format(pcap ? v1::CAPTURE_FORMAT_PCAP : v1::CAPTURE_FORMAT_PCAPNG);

  // Ctrl-C cancels the call from a thread of ours (a signal handler cannot).
  if (pipe2(interrupt_pipe, O_CLOEXEC) != 0) {
    return env.Error(absl::ErrnoToStatus(errno, "pipe"));
  }
  int done_pipe[2];
  if (pipe2(done_pipe, O_CLOEXEC) != 0) return env.Error(absl::ErrnoToStatus(errno, "pipe"));
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  struct sigaction old_int, old_term, old_pipe;
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old_pipe);  // a reader that went away is a write error

  grpc::ClientContext context;
  bool interrupted = false;
  std::thread watcher([&] {
    struct pollfd fds[2] = {{interrupt_pipe[0], POLLIN, 0}, {done_pipe[0], POLLIN, 0}};
    while (poll(fds, 2, -1) < 0 && errno == EINTR) {
    }
    if (fds[0].revents != 0) {
      interrupted = true;  // read after the join below
      context.TryCancel();
    }
  });

  env.out().flush();
  const bool to_file = parser.IsSet("write");
  const bool to_stdout = to_file && output == "-";
  int fd = to_stdout ? STDOUT_FILENO : -1;
  std::string write_error;
  CaptureFileReader reader;
  const absl::TimeZone zone = absl::LocalTimeZone();
  v1::CaptureResponse response;
  v1::CaptureResponse last;
  bool started = false;
  bool reader_gone = false;
  auto stream = env.client().lan_switch().Capture(&context, *request);
  while (stream->Read(&response)) {
    if (!started) {
      started = true;
      if (to_file && !to_stdout) {
        fd = open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
          write_error =
              absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", output)).ToString();
          context.TryCancel();
          break;
        }
      }
    }
    if (to_file) {
      if (int error = WriteAll(fd, response.data()); error != 0) {
        if (error == EPIPE) {
          reader_gone = true;  // the pipe's reader is done: so are we
        } else {
          write_error = absl::ErrnoToStatus(error, absl::StrCat("writing ", output)).ToString();
        }
        context.TryCancel();
        break;
      }
    } else {
      absl::Status decoded = reader.Feed(response.data(), [&](const CaptureFileReader::Frame& f) {
        env.out() << FrameSummary(f, zone) << "\n";
      });
      env.out().flush();
      if (!decoded.ok()) {
        write_error = decoded.ToString();
        context.TryCancel();
        break;
      }
    }
    last.set_frames_written(response.frames_written());
    last.set_frames_dropped(response.frames_dropped());
    if (response.has_end()) *last.mutable_end() = response.end();
  }
  grpc::Status status = stream->Finish();
  ssize_t ignored = write(done_pipe[1], "x", 1);  // the watcher is in poll: this ends it
  (void)ignored;
  watcher.join();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  for (int p : {interrupt_pipe[0], interrupt_pipe[1], done_pipe[0], done_pipe[1]}) close(p);
  if (fd >= 0 && fd != STDOUT_FILENO) close(fd);

  if (!started && !write_error.empty()) return env.Error(absl::UnknownError(write_error));
  if (!started && !interrupted) return env.RpcError(status);
  env.err() << last.frames_written() << " frames captured, " << last.frames_dropped()
            << " lost by the switch (reader too slow)\n";
  if (!write_error.empty()) {
    env.err() << "clownix: " << write_error << "\n";
    return kExitFailure;
  }
  if (interrupted || reader_gone) {
    env.err() << "capture ended: " << (interrupted ? "interrupted" : "the output was closed")
              << "\n";
    return kExitOk;
  }
  if (last.has_end()) {
    env.err() << "capture ended: " << last.end().message() << " ("
              << v1::CaptureEnd::Reason_Name(last.end().reason()) << ")\n";
  }
  if (!status.ok()) return env.RpcError(status);
  return kExitOk;
}

}  // namespace clownix::cli
