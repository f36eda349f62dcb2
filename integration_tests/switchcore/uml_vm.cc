#include "integration_tests/switchcore/uml_vm.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"

extern char** environ;

namespace clownix::switchcore {

absl::StatusOr<std::unique_ptr<UmlVm>> UmlVm::Boot(const Spec& spec, absl::Duration timeout) {
  std::string dir = absl::StrCat(spec.work_dir, "/", spec.name);
  std::string cfg_dir = dir + "/cfg";
  mkdir(dir.c_str(), 0755);
  mkdir(cfg_dir.c_str(), 0755);
  {
    std::ofstream cmd(cfg_dir + "/config_cmd");
    cmd << "#!/bin/sh\nip addr add " << spec.ip_cidr << " dev eth0\nip link set eth0 up\n";
  }
  chmod((cfg_dir + "/config_cmd").c_str(), 0755);
  std::string mkfs = absl::StrCat("mkfs.ext2 -q -d '", cfg_dir, "' '", dir, "/cfg.img' 1M");
  if (system(mkfs.c_str()) != 0) return absl::InternalError("mkfs.ext2 of the config disk failed");

  std::vector<std::string> args = {
      "/usr/bin/linux.uml",
      "mem=64M",
      absl::StrCat("uml_dir=", spec.work_dir, "/uml"),
      absl::StrCat("umid=", spec.name),
      absl::StrCat("ubda=", dir, "/cow,", spec.root_fs),
      absl::StrCat("ubdb=", dir, "/cfg.img"),
      "root=/dev/ubda",
      "rw",
      "con=null",
      "con0=fd:0,fd:1",
      "ssl=null",
      "ssl1=pts",
      absl::StrCat("eth0=daemon,", spec.mac, ",unix,", spec.ctl_path),
  };
  mkdir((spec.work_dir + "/uml").c_str(), 0755);
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    return absl::InternalError(strerror(errno));
  }
  common::SpawnOptions spawn;
  spawn.argv = args;
  spawn.env = std::vector<std::string>{"LD_PRELOAD=" + spec.xstate_lib};
  for (char** e = environ; *e != nullptr; ++e) {
    if (strncmp(*e, "LD_PRELOAD=", 11) != 0) spawn.env->push_back(*e);
  }
  // Console on stdin/stdout; the kernel's own messages (stderr) to a log.
  spawn.output = common::SpawnOptions::Output::kFile;
  spawn.output_path = dir + "/stderr.log";
  spawn.fds = {{in[0], 0}, {out[1], 1}};
  auto vm = std::unique_ptr<UmlVm>(new UmlVm());
  absl::StatusOr<common::SpawnedChild> child = common::Spawn(spawn);
  if (!child.ok()) {
    for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
    return child.status();
  }
  pid_t pid = child->pid;
  close(in[0]);
  close(out[1]);
  vm->pid_ = pid;
  vm->stdin_fd_ = in[1];
  vm->stdout_fd_ = out[0];
  vm->reader_ = std::thread([v = vm.get()] { v->ReadConsole(); });
  // The shell starts after rcS; poke it until it answers.
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> r = vm->Run("echo up", absl::Seconds(2));
    if (r.ok()) return vm;
    if (waitpid(pid, nullptr, WNOHANG) == pid) {
      vm->pid_ = -1;
      return absl::InternalError(absl::StrCat("VM ", spec.name, " exited during boot"));
    }
  }
  return absl::DeadlineExceededError(absl::StrCat("VM ", spec.name, " did not boot"));
}

UmlVm::~UmlVm() {
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);  // UML's main pid leads its own group: this takes the helpers too
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdin_fd_ >= 0) close(stdin_fd_);
  if (reader_.joinable()) reader_.join();  // ends at EOF once the VM is gone
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

void UmlVm::ReadConsole() {
  char buf[4096];
  for (;;) {
    ssize_t n = read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0) return;
    std::string shown;
    // This console writes a command at a time, well under the relay's budget: the marks'
    // acknowledgements are not needed.
    console_flow_.Filter(absl::string_view(buf, static_cast<size_t>(n)), &shown);
    absl::MutexLock lock(&mu_);
    console_.append(shown);
  }
}

std::string UmlVm::Console() {
  absl::MutexLock lock(&mu_);
  return console_;
}

absl::StatusOr<std::string> UmlVm::Run(const std::string& command, absl::Duration timeout) {
  int m = ++marker_;
  // The shell's echo of this line shows "$((m*1000+1))"; only its output shows the number.
  std::string end = absl::StrCat("@END", m * 1000 + 1, "@");
  std::string line = absl::StrCat(command, "; echo \"@END$((", m, "*1000+1))@\"\n");
  size_t start;
  {
    absl::MutexLock lock(&mu_);
    start = console_.size();
  }
  if (write(stdin_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return absl::UnavailableError("console write failed");
  }
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return console_.find(end, start) != std::string::npos;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat("no answer to: ", command));
  }
  return console_.substr(start, console_.find(end, start) - start);
}

}  // namespace clownix::switchcore
