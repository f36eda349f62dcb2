#include "server/log.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace clownix::server {
namespace {

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

void WriteLine(absl::string_view level, absl::string_view message) {
  std::string line = absl::StrCat(
      "clownixd ", absl::FormatTime("%Y-%m-%dT%H:%M:%E3S", absl::Now(), absl::LocalTimeZone()), " ",
      level, " ", message, "\n");
  // A short write to stderr is not worth retrying.
  (void)!write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace

void Log(LogLevel level, absl::string_view message) { WriteLine(LevelName(level), message); }

void Fatal(const char* file, int line, absl::string_view message) {
  WriteLine("FATAL", absl::StrCat(file, ":", line, ": ", message));
  std::abort();
}

}  // namespace clownix::server
