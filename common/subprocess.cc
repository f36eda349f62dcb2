#include "common/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

extern char** environ;

namespace clownix::common {
namespace {

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// argv[0] as execve needs it: itself if it holds a '/', else the first executable of that name on
// PATH (resolved here, before fork, because the child may not allocate).
absl::StatusOr<std::string> ResolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("spawn ", name, ": not found on PATH"));
}

// Writes errno to the report pipe and exits: the parent turns it into Spawn's error.
[[noreturn]] void ChildFail(int report_fd) {
  int err = errno;
  ssize_t ignored = write(report_fd, &err, sizeof(err));
  (void)ignored;  // Nothing more the child can do: the parent then sees exit status 127.
  _exit(127);
}

// In the child: SpawnOptions' confinement, async-signal-safe calls only.
// `oom_score_adj`: SpawnOptions::oom_score_adj as text (formatted before fork), "" to leave it.
void ConfineChild(const SpawnOptions& options, const char* oom_score_adj, int report_fd) {
  for (int fd : options.join_cgroup_fds) {
    ssize_t written;
    while ((written = write(fd, "0", 1)) < 0 && errno == EINTR) {
    }
    if (written != 1) ChildFail(report_fd);
  }
  if (oom_score_adj[0] != '\0') {
    const ssize_t length = static_cast<ssize_t>(strlen(oom_score_adj));
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, oom_score_adj, length) != length) ChildFail(report_fd);
    close(fd);
  }
  if (options.no_address_randomization) {
    const int current = personality(0xffffffff);  // Reads it.
    if (current == -1 ||
        personality(static_cast<unsigned long>(current) | ADDR_NO_RANDOMIZE) == -1) {
      ChildFail(report_fd);
    }
  }
  if (options.umask >= 0) umask(static_cast<mode_t>(options.umask));
  if (options.run_as) {
    const SpawnOptions::Credentials& who = *options.run_as;
    // Groups first: once the user is not root any more, they cannot change.
    if (setgroups(0, nullptr) != 0 || setresgid(who.gid, who.gid, who.gid) != 0 ||
        setresuid(who.uid, who.uid, who.uid) != 0) {
      ChildFail(report_fd);
    }
  }
  if ((options.no_new_privs || options.landlock_ruleset_fd >= 0) &&
      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    ChildFail(report_fd);
  }
  if (options.landlock_ruleset_fd >= 0 &&
      syscall(SYS_landlock_restrict_self, options.landlock_ruleset_fd, 0) != 0) {
    ChildFail(report_fd);
  }
}

// In the child: async-signal-safe calls only.
[[noreturn]] void ExecChild(const SpawnOptions& options, const char* program, char** argv,
                            char** envp, const char* oom_score_adj, int stdin_fd, int output_fd,
                            int report_fd, pid_t parent) {
  if (!options.working_dir.empty() && chdir(options.working_dir.c_str()) != 0) {
    ChildFail(report_fd);
  }
  // Credentials first: changing them clears the parent death signal.
  ConfineChild(options, oom_score_adj, report_fd);
  if (options.parent_death_signal != 0) {
    if (prctl(PR_SET_PDEATHSIG, options.parent_death_signal) != 0) ChildFail(report_fd);
    if (getppid() != parent) _exit(1);  // The parent is already gone.
  }
  if (options.new_process_group && setpgid(0, 0) != 0) ChildFail(report_fd);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  }
  // Every inherited descriptor from 3 on closes at exec unless listed; the sources of `fds` are
  // first copied above every target so that no dup2 overwrites a source still to be moved.
  int highest = 2;
  for (const SpawnOptions::Fd& fd : options.fds) highest = std::max(highest, fd.child);
  int copies[64];
  size_t count = std::min<size_t>(options.fds.size(), 64);
  for (size_t i = 0; i < count; ++i) {
    copies[i] = fcntl(options.fds[i].parent, F_DUPFD_CLOEXEC, highest + 1);
    if (copies[i] < 0) ChildFail(report_fd);
  }
  if (dup2(stdin_fd, 0) < 0) ChildFail(report_fd);
  if (output_fd >= 0) {
    if (dup2(output_fd, 1) < 0) ChildFail(report_fd);
    if (!options.stderr_to_parent && dup2(output_fd, 2) < 0) ChildFail(report_fd);
  }
  if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) ChildFail(report_fd);
  for (size_t i = 0; i < count; ++i) {
    if (dup2(copies[i], options.fds[i].child) < 0) ChildFail(report_fd);
  }
  if (options.controlling_terminal >= 0 &&
      (setsid() < 0 || ioctl(options.controlling_terminal, TIOCSCTTY, 0) != 0)) {
    ChildFail(report_fd);
  }
  execve(program, argv, envp);
  ChildFail(report_fd);
}

absl::Status ErrnoStatus(int err, absl::string_view what) { return absl::ErrnoToStatus(err, what); }

}  // namespace

absl::StatusOr<SpawnedChild> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("spawn: empty argv");
  if (options.fds.size() > 64) return absl::InvalidArgumentError("spawn: more than 64 fds");
  const std::string& name = options.argv[0];
  absl::StatusOr<std::string> program = ResolveProgram(name);
  if (!program.ok()) return program.status();

  std::vector<char*> argv;
  for (const std::string& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env) {
    for (const std::string& var : *options.env) envp.push_back(const_cast<char*>(var.c_str()));
    envp.push_back(nullptr);
  }

  UniqueFd stdin_fd(open(options.stdin_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!stdin_fd.valid())
    return ErrnoStatus(errno, absl::StrCat("spawn ", name, ": open ", options.stdin_path));
  UniqueFd output_write, output_read;
  switch (options.output) {
    case SpawnOptions::Output::kInherit:
      break;
    case SpawnOptions::Output::kDiscard:
      output_write.reset(open("/dev/null", O_WRONLY | O_CLOEXEC));
      break;
    case SpawnOptions::Output::kFile:
      output_write.reset(
          open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
      break;
    case SpawnOptions::Output::kPipe: {
      int pipe_fds[2];
      if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "spawn: pipe");
      output_read.reset(pipe_fds[0]);
      output_write.reset(pipe_fds[1]);
      break;
    }
  }
  if (options.output != SpawnOptions::Output::kInherit && !output_write.valid()) {
    return ErrnoStatus(errno, absl::StrCat("spawn ", name, ": open ", options.output_path));
  }
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return ErrnoStatus(errno, "spawn: pipe");
  UniqueFd report_read(report[0]), report_write(report[1]);

  const std::string oom_score_adj =
      options.oom_score_adj != 0 ? absl::StrCat(options.oom_score_adj) : "";
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    return absl::UnavailableError(absl::StrCat("spawn ", name, ": fork: ", strerror(errno)));
  if (pid == 0) {
    ExecChild(options, program->c_str(), argv.data(), options.env ? envp.data() : environ,
              oom_score_adj.c_str(), stdin_fd.get(), output_write.get(), report_write.get(),
              parent);
  }
  report_write.reset();
  output_write.reset();
  int child_errno = 0;
  ssize_t n;
  while ((n = read(report_read.get(), &child_errno, sizeof(child_errno))) < 0 && errno == EINTR) {
  }
  if (n > 0) {
    // The exec failed: the child has exited (or is about to); reap it so no zombie is left.
    absl::StatusOr<int> reaped = WaitForChild(pid);
    (void)reaped;  // Its status is 127 by construction; the errno says more.
    return ErrnoStatus(child_errno, absl::StrCat("spawn ", name));
  }
  SpawnedChild child;
  child.pid = pid;
  child.pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!child.pidfd.valid()) {
    absl::Status status = ErrnoStatus(errno, absl::StrCat("spawn ", name, ": pidfd_open"));
    kill(pid, SIGKILL);
    absl::StatusOr<int> reaped = WaitForChild(pid);
    (void)reaped;  // It was killed above; only the zombie is removed here.
    return status;
  }
  child.output = std::move(output_read);
  return child;
}

bool RunResult::succeeded() const {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

absl::StatusOr<RunResult> Run(SpawnOptions options, size_t output_cap, absl::Duration timeout) {
  options.output = SpawnOptions::Output::kPipe;
  absl::StatusOr<SpawnedChild> child = Spawn(options);
  if (!child.ok()) return child.status();
  RunResult result;
  // Output past the cap is read (so the program never blocks on a full pipe) and dropped.
  auto keep = [&result, output_cap](const char* data, size_t size) {
    size_t room = output_cap - std::min(output_cap, result.output.size());
    result.output.append(data, std::min(room, size));
  };
  absl::Time deadline = absl::Now() + timeout;
  bool output_open = true, exited = false, timed_out = false;
  // Until the program exits: its output, then its pidfd. Output it handed on to a process that
  // outlives it is not waited for.
  while (!exited) {
    pollfd fds[2] = {{child->pidfd.get(), POLLIN, 0},
                     {output_open ? child->output.get() : -1, POLLIN, 0}};
    int wait_ms = -1;
    if (timeout != absl::InfiniteDuration()) {
      absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
      wait_ms =
          static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
    }
    int ready = poll(fds, 2, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return ErrnoStatus(errno, "poll");
    if (ready == 0) {
      timed_out = true;
      pid_t target = options.new_process_group ? -child->pid : child->pid;
      kill(target, SIGKILL);
      break;
    }
    if (fds[1].revents != 0) {
      char chunk[4096];
      ssize_t n = read(child->output.get(), chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        output_open = false;
      } else {
        keep(chunk, static_cast<size_t>(n));
      }
      continue;  // Drain the output before looking at the exit.
    }
    exited = fds[0].revents != 0;
  }
  // What is still in the pipe when it exited.
  while (output_open && !timed_out) {
    pollfd fd = {child->output.get(), POLLIN, 0};
    if (poll(&fd, 1, 0) <= 0) break;
    char chunk[4096];
    ssize_t n = read(child->output.get(), chunk, sizeof(chunk));
    if (n <= 0) break;
    keep(chunk, static_cast<size_t>(n));
  }
  absl::StatusOr<int> status = WaitForChild(child->pid);
  if (!status.ok()) return status.status();
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat("`", absl::StrJoin(options.argv, " "), "` took longer than ",
                     absl::FormatDuration(timeout), " and was killed"));
  }
  result.wait_status = *status;
  return result;
}

absl::Status RunChecked(SpawnOptions options) {
  std::string command = absl::StrJoin(options.argv, " ");
  absl::StatusOr<RunResult> result = Run(std::move(options));
  if (!result.ok()) return result.status();
  if (result->succeeded()) return absl::OkStatus();
  std::string output(absl::StripTrailingAsciiWhitespace(result->output));
  if (output.size() > 400) output = "..." + output.substr(output.size() - 400);
  return absl::UnavailableError(absl::StrCat("`", command, "` ",
                                             DescribeWaitStatus(result->wait_status),
                                             output.empty() ? "" : ": ", output));
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    const char* name = sigdescr_np(sig);
    return absl::StrCat("killed by signal ", sig, name ? absl::StrCat(" (", name, ")") : "");
  }
  return absl::StrCat("ended with wait status ", wait_status);
}

absl::StatusOr<int> WaitForChild(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoStatus(errno, absl::StrCat("waitpid ", pid));
  }
  return status;
}

}  // namespace clownix::common
