// Minimal logging and invariant checks for clownixd (this Abseil release has no absl/log).
// Log lines go to stderr: "clownixd <time> <LEVEL> message".
#ifndef CLOWNIX_SERVER_LOG_H_
#define CLOWNIX_SERVER_LOG_H_

#include "absl/strings/string_view.h"

namespace clownix::server {

enum class LogLevel { kInfo, kWarning, kError };

// Thread-safe; one write(2) per line.
void Log(LogLevel level, absl::string_view message);

// Prints the broken invariant and aborts.
[[noreturn]] void Fatal(const char* file, int line, absl::string_view message);

}  // namespace clownix::server

// Aborts when `condition` is false: for broken invariants only, never for outside input.
#define CLOWNIX_CHECK(condition, message)                                    \
  do {                                                                       \
    if (!(condition)) ::clownix::server::Fatal(__FILE__, __LINE__, message); \
  } while (0)

#endif  // CLOWNIX_SERVER_LOG_H_
