// A line diff in the unified format (`diff -u`), for the signatures `clownix lab test` compares.
// Signatures are small (tens to a few hundred lines), so the diff is the plain longest common
// subsequence, quadratic in the number of lines. Pure and thread-safe.
#ifndef CLOWNIX_CLIENTS_CLI_LABTEST_LINE_DIFF_H_
#define CLOWNIX_CLIENTS_CLI_LABTEST_LINE_DIFF_H_

#include <string>

#include "absl/strings/string_view.h"

namespace clownix::cli::labtest {

// "" when `a` and `b` are equal; otherwise "--- a_label\n+++ b_label\n" and the hunks
// ("@@ -1,4 +1,4 @@", then " ", "-" and "+" lines), with `context` unchanged lines around each
// change. A text without a final newline is compared as if it had one.
std::string UnifiedDiff(absl::string_view a, absl::string_view b, absl::string_view a_label,
                        absl::string_view b_label, int context = 3);

}  // namespace clownix::cli::labtest

#endif  // CLOWNIX_CLIENTS_CLI_LABTEST_LINE_DIFF_H_
