#include "clients/cli/console_command.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/cli/raw_terminal.h"
#include "clients/cli/values.h"

namespace clownix::cli {
namespace {

constexpr char kEscape = 0x1d;  // Ctrl-]

// Writes all of `data` to `fd`, retrying short writes.
void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += n;
  }
}

// What the output thread tells the input loop.
struct OutputState {
  absl::Mutex mu;
  bool ended ABSL_GUARDED_BY(mu) = false;
  absl::Time last_output ABSL_GUARDED_BY(mu) = absl::Now();
};

}  // namespace

int RunConsoleCommand(CommandEnv& env, const std::vector<std::string>& args) {
  std::string linger = "1s";
  ArgParser parser(
      "clownix console VM [--linger D]",
      "Attaches to the VM's console. On a terminal it is interactive (raw mode; Ctrl-] quits).\n"
      "With piped input, sends the input, then prints output until it has been quiet for\n"
      "--linger, e.g.  echo 'uname -a' | clownix console vm1");
  parser.AddString("linger", "D", "with piped input: quiet time after its end before exiting",
                   &linger);
  if (int code = ParseOrExit(env, "console", parser, args); code >= 0) return code;
  absl::Status usage = parser.ExpectPositionals(1, 1, "VM");
  absl::StatusOr<uint32_t> linger_ms = ParseDurationMs("--linger", linger);
  if (usage.ok()) usage = linger_ms.status();
  if (!usage.ok()) return env.UsageError("console", usage);
  const std::string vm = parser.positionals()[0];
  env.out().flush();

  grpc::ClientContext context;
  auto stream = env.client().machines().Console(&context);
  v1::ConsoleRequest first;
  first.set_vm(vm);
  // The console takes this terminal's size, and follows it (SIGWINCH, below).
  std::optional<WindowSize> size = TerminalSize(STDIN_FILENO);
  if (size) {
    first.mutable_window_size()->set_rows(size->rows);
    first.mutable_window_size()->set_columns(size->columns);
  }
  stream->Write(first);

  bool we_quit = false;
  bool interactive = false;
  bool writes_done = false;
  // The terminal goes raw and the banner is written before the output thread starts, so that the
  // banner comes before the console's first bytes, never in the middle of them.
  absl::StatusOr<std::unique_ptr<RawTerminal>> terminal = RawTerminal::Enter(STDIN_FILENO);
  if (!terminal.ok()) {
    context.TryCancel();
    return env.Error(terminal.status());
  }
  interactive = (*terminal)->active();
  if (interactive) {
    env.err() << absl::StrCat("Connected to ", vm, ". Escape: Ctrl-]\r\n") << std::flush;
  }
  int wake[2];
  if (pipe(wake) != 0) return env.Error(absl::InternalError("pipe failed"));
  OutputState state;
  std::thread output([&] {
    v1::ConsoleResponse response;
    while (stream->Read(&response)) {
      WriteAll(STDOUT_FILENO, response.output());
      absl::MutexLock lock(&state.mu);
      state.last_output = absl::Now();
    }
    {
      absl::MutexLock lock(&state.mu);
      state.ended = true;
    }
    WriteAll(wake[1], "x");
  });

  {
    bool input_open = true;
    while (true) {
      struct pollfd fds[3] = {
          {wake[0], POLLIN, 0}, {(*terminal)->resize_fd(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
      int n = poll(fds, input_open ? 3 : 2, input_open ? -1 : 100);
      if (n < 0 && errno != EINTR) break;
      if (fds[0].revents != 0) break;  // The stream ended.
      if (fds[1].revents != 0) {
        std::optional<WindowSize> now = (*terminal)->TakeResize();
        if (now && now != size) {
          size = now;
          v1::ConsoleRequest request;
          request.mutable_window_size()->set_rows(size->rows);
          request.mutable_window_size()->set_columns(size->columns);
          if (!stream->Write(request)) break;  // The stream is ending; the status will say why.
        }
        continue;
      }
      if (!input_open) {
        absl::MutexLock lock(&state.mu);
        if (absl::Now() - state.last_output >= absl::Milliseconds(*linger_ms)) {
          we_quit = true;
          break;
        }
        continue;
      }
      if (n <= 0 || fds[2].revents == 0) continue;
      char buffer[4096];
      ssize_t got = read(STDIN_FILENO, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        if (interactive) {
          we_quit = true;
          break;
        }
        // Piped input is over: let the console answer, then leave once it is quiet.
        stream->WritesDone();
        writes_done = true;
        input_open = false;
        absl::MutexLock lock(&state.mu);
        state.last_output = absl::Now();
        continue;
      }
      std::string input(buffer, got);
      bool escape = false;
      if (interactive) {
        if (size_t at = input.find(kEscape); at != std::string::npos) {
          input.resize(at);
          escape = true;
        }
      }
      if (!input.empty()) {
        v1::ConsoleRequest request;
        request.set_input(input);
        if (!stream->Write(request)) break;  // The stream is ending; the status will say why.
      }
      if (escape) {
        we_quit = true;
        break;
      }
    }
  }
  terminal->reset();  // The terminal is restored here, before anything more is printed.
  if (we_quit) {
    // Half-close so that the last keys reach the server before the call is cancelled (a cancel
    // right after a write may drop it); a server that ends the stream on half-close is done
    // sooner.
    if (!writes_done) stream->WritesDone();
    struct pollfd ended = {wake[0], POLLIN, 0};
    poll(&ended, 1, 500);
    context.TryCancel();
  }
  output.join();
  close(wake[0]);
  close(wake[1]);
  grpc::Status status = stream->Finish();
  if (we_quit) {
    if (interactive) env.err() << "\nclownix: console of " << vm << " closed\n";
    return kExitOk;
  }
  if (!status.ok()) return env.RpcError(status);
  return kExitOk;
}

}  // namespace clownix::cli
