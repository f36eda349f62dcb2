#include "clients/graph/dot_renderer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"

namespace clownix::graph {
namespace {

constexpr char kInstallHint[] = "install graphviz (tools/setup.sh does) or pass --dot PATH";
// What dot says on failure is kept up to this size.
constexpr size_t kMaxErrorBytes = 16 << 10;

bool IsExecutableFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(path.c_str(), X_OK) == 0;
}

absl::StatusOr<std::string> FindDot(const std::string& dot) {
  if (dot.empty()) return absl::InvalidArgumentError("the dot program name is empty");
  if (absl::StrContains(dot, '/')) {
    if (IsExecutableFile(dot)) return dot;
    return absl::FailedPreconditionError(
        absl::StrCat("graphviz dot \"", dot, "\" is not an executable file: ", kInstallHint));
  }
  const char* path = getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", dot);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return absl::FailedPreconditionError(absl::StrCat("graphviz \"", dot, "\" not found in $PATH (",
                                                    path ? path : "", "): ", kInstallHint));
}

absl::Status MakeDirs(const std::string& dir) {
  std::string prefix;
  for (absl::string_view part : absl::StrSplit(dir, '/')) {
    absl::StrAppend(&prefix, part, "/");
    if (part.empty() || part == ".") continue;
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create output directory ", prefix, ": ", strerror(errno)));
    }
  }
  struct stat info;
  if (stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("output directory ", dir, " is not a directory"));
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, absl::string_view data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("open ", path, ": ", strerror(errno)));
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status status =
          absl::UnavailableError(absl::StrCat("write ", path, ": ", strerror(errno)));
      close(fd);
      return status;
    }
    data.remove_prefix(n);
  }
  if (close(fd) != 0) {
    return absl::UnavailableError(absl::StrCat("close ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<DotRenderer>> DotRenderer::Create(Options options) {
  if (options.formats.empty()) return absl::InvalidArgumentError("no output format given");
  for (const std::string& format : options.formats) {
    bool ok = !format.empty() && format != "dot" &&
              std::all_of(format.begin(), format.end(),
                          [](char c) { return absl::ascii_isalnum(c) || c == ':' || c == '_'; });
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad output format \"", format, "\" (expected svg, png, pdf, ...)"));
    }
  }
  if (options.basename.empty() || absl::StrContains(options.basename, '/')) {
    return absl::InvalidArgumentError(absl::StrCat("bad file name \"", options.basename, "\""));
  }
  absl::StatusOr<std::string> dot = FindDot(options.dot);
  if (!dot.ok()) return dot.status();
  if (options.out_dir.empty()) options.out_dir = ".";
  if (absl::Status made = MakeDirs(options.out_dir); !made.ok()) return made;
  return std::unique_ptr<DotRenderer>(new DotRenderer(std::move(options), *std::move(dot)));
}

std::string DotRenderer::PathOf(absl::string_view format) const {
  // A format like "png:cairo" names the file after its first part.
  absl::string_view extension = format.substr(0, format.find(':'));
  return absl::StrCat(options_.out_dir, "/", options_.basename, ".", extension);
}

absl::Status DotRenderer::Render(absl::string_view dot_text) const {
  // Temporary names are hidden and carry the pid: two renderers on one directory do not collide.
  std::string suffix = absl::StrCat(".tmp.", getpid());
  auto temp_of = [&](const std::string& path) {
    size_t slash = path.rfind('/');
    return absl::StrCat(path.substr(0, slash + 1), ".", path.substr(slash + 1), suffix);
  };
  std::vector<std::pair<std::string, std::string>> moves;  // temporary -> final
  moves.emplace_back(temp_of(PathOf("dot")), PathOf("dot"));
  absl::Status status = WriteFile(moves[0].first, dot_text);
  for (size_t i = 0; status.ok() && i < options_.formats.size(); ++i) {
    const std::string& format = options_.formats[i];
    moves.emplace_back(temp_of(PathOf(format)), PathOf(format));
    status = RunDot({absl::StrCat("-T", format), "-o", moves.back().first, moves[0].first});
  }
  if (!status.ok()) {
    for (const auto& [temporary, final_path] : moves) unlink(temporary.c_str());
    return status;
  }
  // The pictures first, the DOT last: whoever sees the new .dot finds the matching pictures.
  for (size_t i = moves.size(); i-- > 0;) {
    if (rename(moves[i].first.c_str(), moves[i].second.c_str()) != 0) {
      status = absl::UnavailableError(
          absl::StrCat("rename ", moves[i].first, " to ", moves[i].second, ": ", strerror(errno)));
      for (size_t j = 0; j <= i; ++j) unlink(moves[j].first.c_str());
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status DotRenderer::RunDot(const std::vector<std::string>& args) const {
  common::SpawnOptions dot;
  dot.argv = {dot_path_};
  dot.argv.insert(dot.argv.end(), args.begin(), args.end());
  absl::StatusOr<common::RunResult> result = common::Run(dot, kMaxErrorBytes, options_.timeout);
  if (absl::IsDeadlineExceeded(result.status())) {
    return absl::DeadlineExceededError(absl::StrCat("graphviz ", dot_path_, " took longer than ",
                                                    absl::FormatDuration(options_.timeout),
                                                    " and was killed"));
  }
  if (!result.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot run graphviz ", dot_path_, ": ", result.status().message(), ": ", kInstallHint));
  }
  if (result->succeeded()) return absl::OkStatus();
  absl::string_view message = absl::StripAsciiWhitespace(result->output);
  return absl::InternalError(absl::StrCat("graphviz ", dot_path_, " ",
                                          common::DescribeWaitStatus(result->wait_status),
                                          message.empty() ? "" : ": ", message));
}

}  // namespace clownix::graph
