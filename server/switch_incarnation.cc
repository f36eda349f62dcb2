#include "server/switch_incarnation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_io.h"

namespace clownix::server {

absl::StatusOr<uint32_t> NextSwitchIncarnation(const std::string& work_dir) {
  std::string path = work_dir + "/switch.incarnation";
  absl::StatusOr<std::string> text = common::ReadFileIfExists(path, /*max_bytes=*/64);
  if (!text.ok()) return text.status();
  uint32_t starts = 0;
  absl::string_view count = absl::StripAsciiWhitespace(*text);
  if (!count.empty() && !absl::SimpleAtoi(count, &starts)) {
    return absl::DataLossError(absl::StrCat(path,
                                            " does not hold a count of starts; remove it "
                                            "and ports.saved next to it"));
  }
  ++starts;
  if (absl::Status s = common::WriteFileDurably(path, absl::StrCat(starts, "\n")); !s.ok()) {
    return s;
  }
  return (starts % 4096) * 4096;
}

}  // namespace clownix::server
