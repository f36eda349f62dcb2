// Journal: an append-only file of length-prefixed, checksummed records.
//
// Record layout (little endian): u32 payload length, u32 crc32 of the payload, payload.
// Append() only buffers; Sync() writes everything buffered with one write and one fdatasync, so
// a writer acknowledges a whole batch of mutations for one disk flush (group commit).
//
// Reading back (Replay) stops at the first bad record. A bad record that runs to the end of the
// file is a torn write from a crash: it was never acknowledged, so it is cut off and reported.
// A bad record followed by more data is corruption of acknowledged data: DATA_LOSS.
#ifndef CLOWNIX_SERVER_JOURNAL_H_
#define CLOWNIX_SERVER_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace clownix::server {

class Journal {
 public:
  struct ReplayResult {
    uint64_t records = 0;
    // Bytes of a torn last record that were cut off (0 when the file ended cleanly).
    uint64_t torn_bytes = 0;
  };

  // Reads every record of the journal at `path` (a missing file has none) and calls `on_record`
  // with each payload in order; then opens the file for appending after the last good record,
  // truncating a torn tail. DATA_LOSS for corruption before the tail; `on_record` errors abort.
  static absl::StatusOr<std::unique_ptr<Journal>> Create(
      const std::string& path, const std::function<absl::Status(absl::string_view)>& on_record,
      ReplayResult* result);

  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Buffers one record. Not thread-safe: the store's writer thread is the only caller.
  void Append(absl::string_view payload);

  // Writes the buffered records and fdatasyncs. On failure (disk full, I/O error) the file is cut
  // back to its last synced size, the buffer is dropped and the error returned (UNAVAILABLE or
  // RESOURCE_EXHAUSTED): nothing of the failed batch counts as written.
  absl::Status Sync();

  // Bytes in the file after the last Sync.
  uint64_t size() const { return synced_size_; }

  // Empties the journal (after a snapshot has made its records redundant); durable on return.
  absl::Status Reset();

 private:
  Journal(int fd, std::string path, uint64_t size);

  int fd_;
  std::string path_;
  uint64_t synced_size_;
  std::string buffer_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_JOURNAL_H_
