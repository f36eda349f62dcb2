#include "vmm/console_flow.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace clownix::vmm {
namespace {

constexpr absl::string_view kPrefix = "\x1b_clownix-console ";
constexpr absl::string_view kEnd = "\x1b\\";
// The longest body a mark has ("read " and 7 digits); anything longer is not a mark.
constexpr size_t kMaxBody = 12;

}  // namespace

ConsoleFlowFilter::Marks ConsoleFlowFilter::Filter(absl::string_view output, std::string* shown) {
  std::string joined;
  if (!held_.empty()) {
    joined = std::move(held_);
    held_.clear();
    joined.append(output.data(), output.size());
    output = joined;
  }
  Marks marks;
  while (!output.empty()) {
    size_t esc = output.find('\x1b');
    if (esc == absl::string_view::npos) {
      shown->append(output.data(), output.size());
      break;
    }
    shown->append(output.data(), esc);
    output.remove_prefix(esc);
    // `output` starts with ESC: a mark, the start of one cut off here, or ordinary output.
    const size_t prefix_seen = std::min(output.size(), kPrefix.size());
    if (output.substr(0, prefix_seen) != kPrefix.substr(0, prefix_seen)) {
      shown->push_back('\x1b');
      output.remove_prefix(1);
      continue;
    }
    const size_t end = output.find(kEnd, prefix_seen);
    if (end == absl::string_view::npos || end - prefix_seen > kMaxBody) {
      if (output.size() < kPrefix.size() + kMaxBody + kEnd.size() &&
          end == absl::string_view::npos) {
        held_.assign(output.data(), output.size());  // Could still become a mark.
        break;
      }
      shown->push_back('\x1b');
      output.remove_prefix(1);
      continue;
    }
    const absl::string_view body = output.substr(kPrefix.size(), end - kPrefix.size());
    size_t count = 0;
    if (body == "start") {
      marks.started = true;
      marks.acknowledged = 0;
    } else if (absl::StartsWith(body, "read ") && body.size() > 5 &&
               absl::SimpleAtoi(body.substr(5), &count)) {
      marks.acknowledged += count;
    } else {
      shown->push_back('\x1b');  // Not one of ours: shown as it came.
      output.remove_prefix(1);
      continue;
    }
    output.remove_prefix(end + kEnd.size());
  }
  return marks;
}

}  // namespace clownix::vmm
