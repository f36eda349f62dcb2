// The console's flow control, host side: the marks the guest's console relay
// (vmm/rootfs/guest/clownix_console.cc) puts in the console's output, and the filter that takes
// them out again.
//
// Why: a UML line that the guest's tty throttles (3968 unread bytes) stops for good
// (docs/uml-facts.md #22), so a paste of a few KiB used to freeze a VM's console. The relay reads
// the line and says how much of it it has handed on to the console's shell; ConsoleLine keeps at
// most ConsoleLine::kUnreadBudget bytes written and not yet acknowledged.
//
// The marks are APC strings (ESC _ ... ESC \), which terminals do not show:
//   ESC _ clownix-console start ESC \     a relay now reads the line; count from zero
//   ESC _ clownix-console read N ESC \    it has handed on N more bytes (decimal, 1..7 digits)
// A console without a relay (an image older than the relay, or the boot before it starts) sends
// no start mark, and its writes are not held back.
#ifndef CLOWNIX_VMM_CONSOLE_FLOW_H_
#define CLOWNIX_VMM_CONSOLE_FLOW_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace clownix::vmm {

// Not thread-safe: one filter per console line, fed by the one thread that reads it.
class ConsoleFlowFilter {
 public:
  struct Marks {
    bool started = false;  // A start mark was seen; `acknowledged` counts from the last one.
    size_t acknowledged = 0;
  };

  // Appends `output` without its marks to `*shown`. A mark cut off by the end of `output` (or a
  // lone ESC at its end, which could begin one) is held and completed by the next call, so what is
  // shown may lag by those few bytes.
  Marks Filter(absl::string_view output, std::string* shown);

 private:
  std::string held_;  // The start of a possible mark, from the previous call.
};

}  // namespace clownix::vmm

#endif  // CLOWNIX_VMM_CONSOLE_FLOW_H_
