#include "server/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"

namespace clownix::server {
namespace {

constexpr size_t kHeaderSize = 8;
// A record larger than this is not something the store ever writes: treat as corruption.
constexpr uint32_t kMaxRecordSize = 64 << 20;

uint32_t Checksum(absl::string_view data) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

absl::StatusOr<std::string> ReadAll(int fd, const std::string& path) {
  std::string data;
  char chunk[1 << 16];
  while (true) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("read ", path));
    if (n == 0) return data;
    data.append(chunk, n);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Journal>> Journal::Create(
    const std::string& path, const std::function<absl::Status(absl::string_view)>& on_record,
    ReplayResult* result) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  std::unique_ptr<Journal> journal(new Journal(fd, path, 0));
  absl::StatusOr<std::string> data = ReadAll(fd, path);
  if (!data.ok()) return data.status();
  *result = ReplayResult{};
  size_t offset = 0;
  while (offset < data->size()) {
    size_t left = data->size() - offset;
    const char* head = data->data() + offset;
    bool torn = false;
    uint32_t length = 0;
    if (left < kHeaderSize ||
        absl::string_view(head, left).find_first_not_of('\0') == absl::string_view::npos) {
      // A short header, or zeros: the file was extended but the data never made it to disk.
      torn = true;
    } else {
      length = absl::little_endian::Load32(head);
      uint32_t crc = absl::little_endian::Load32(head + 4);
      if (length == 0 || length > kMaxRecordSize || length > left - kHeaderSize) {
        // Runs past the end: a write cut short, unless the length field itself is garbage in the
        // middle of the file, which the size check cannot tell apart: both end the good prefix.
        torn = true;
      } else if (Checksum(absl::string_view(head + kHeaderSize, length)) != crc) {
        if (offset + kHeaderSize + length == data->size()) {
          torn = true;
        } else {
          return absl::DataLossError(absl::StrCat(
              path, ": record ", result->records + 1, " at offset ", offset,
              " is corrupt and acknowledged records follow it; move the file aside to start from ",
              "the last snapshot"));
        }
      }
    }
    if (torn) {
      result->torn_bytes = left;
      break;
    }
    if (absl::Status s = on_record(absl::string_view(head + kHeaderSize, length)); !s.ok()) {
      return s;
    }
    ++result->records;
    offset += kHeaderSize + length;
  }
  if (result->torn_bytes > 0) {
    if (ftruncate(fd, offset) != 0 || fdatasync(fd) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("truncate torn tail of ", path));
    }
  }
  if (lseek(fd, offset, SEEK_SET) < 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("seek ", path));
  journal->synced_size_ = offset;
  return journal;
}

Journal::Journal(int fd, std::string path, uint64_t size)
    : fd_(fd), path_(std::move(path)), synced_size_(size) {}

Journal::~Journal() { close(fd_); }

void Journal::Append(absl::string_view payload) {
  char header[kHeaderSize];
  absl::little_endian::Store32(header, static_cast<uint32_t>(payload.size()));
  absl::little_endian::Store32(header + 4, Checksum(payload));
  buffer_.append(header, kHeaderSize);
  buffer_.append(payload.data(), payload.size());
}

absl::Status Journal::Sync() {
  size_t written = 0;
  int err = 0;
  while (written < buffer_.size()) {
    ssize_t n = write(fd_, buffer_.data() + written, buffer_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      break;
    }
    written += n;
  }
  if (err == 0 && fdatasync(fd_) != 0) err = errno;
  buffer_.clear();
  if (err != 0) {
    // Cut the partial batch off so the file ends at the last acknowledged record.
    if (ftruncate(fd_, synced_size_) != 0 || lseek(fd_, synced_size_, SEEK_SET) < 0) {
      err = errno;
    }
    return absl::ErrnoToStatus(err, absl::StrCat("append to ", path_));
  }
  synced_size_ += written;
  return absl::OkStatus();
}

absl::Status Journal::Reset() {
  buffer_.clear();
  if (ftruncate(fd_, 0) != 0 || lseek(fd_, 0, SEEK_SET) < 0 || fdatasync(fd_) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("reset ", path_));
  }
  synced_size_ = 0;
  return absl::OkStatus();
}

}  // namespace clownix::server
