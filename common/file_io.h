// Small whole-file reads and durable writes: the one way every process of clownix reads a small
// file and writes a file it must find again after a crash.
//
// WriteFileDurably is the rule for every file in the work directory (docs/work-dir.md): the new
// content goes to PATH.tmp, is fsynced, renamed over PATH and the directory is fsynced, so after a
// crash or power cut PATH holds either the old content or the new one, whole.
#ifndef CLOWNIX_COMMON_FILE_IO_H_
#define CLOWNIX_COMMON_FILE_IO_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::common {

// The whole content of `path`, at most `max_bytes` (FAILED_PRECONDITION when it is larger).
// NOT_FOUND when it does not exist; other errors as absl::ErrnoToStatus maps them, naming the path.
absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes = 64 << 20);

// Like ReadFile, but a missing file reads as "".
absl::StatusOr<std::string> ReadFileIfExists(const std::string& path, size_t max_bytes = 64 << 20);

// Replaces `path` with `contents` atomically and durably (see above), with permissions `mode`.
// On error `path` is unchanged and no PATH.tmp is left behind.
absl::Status WriteFileDurably(const std::string& path, absl::string_view contents,
                              mode_t mode = 0600);

// fsyncs the directory `dir`, making the creation, rename or removal of its entries durable.
absl::Status SyncDirectory(const std::string& dir);

}  // namespace clownix::common

#endif  // CLOWNIX_COMMON_FILE_IO_H_
