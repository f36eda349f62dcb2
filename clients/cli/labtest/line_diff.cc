#include "clients/cli/labtest/line_diff.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace clownix::cli::labtest {
namespace {

std::vector<absl::string_view> Lines(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// One line of the edit script: ' ' kept, '-' only in a, '+' only in b; with its line numbers
// (0-based) in a and b (the position it would have, for the side it is not on).
struct Edit {
  char op;
  size_t a_line;
  size_t b_line;
  absl::string_view text;
};

std::vector<Edit> EditScript(const std::vector<absl::string_view>& a,
                             const std::vector<absl::string_view>& b) {
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  std::vector<std::vector<size_t>> lcs(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<Edit> edits;
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      edits.push_back({' ', i, j, a[i]});
      ++i;
      ++j;
    } else if (j == b.size() || (i < a.size() && lcs[i + 1][j] >= lcs[i][j + 1])) {
      edits.push_back({'-', i, j, a[i]});
      ++i;
    } else {
      edits.push_back({'+', i, j, b[j]});
      ++j;
    }
  }
  return edits;
}

// "START,COUNT" of a hunk side, as diff -u writes it (an empty side names the line before).
std::string Range(size_t start, size_t count) {
  if (count == 0) return absl::StrCat(start, ",0");
  if (count == 1) return absl::StrCat(start + 1);
  return absl::StrCat(start + 1, ",", count);
}

}  // namespace

std::string UnifiedDiff(absl::string_view a, absl::string_view b, absl::string_view a_label,
                        absl::string_view b_label, int context) {
  std::vector<absl::string_view> a_lines = Lines(a);
  std::vector<absl::string_view> b_lines = Lines(b);
  if (a_lines == b_lines) return "";
  std::vector<Edit> edits = EditScript(a_lines, b_lines);
  std::string out = absl::StrCat("--- ", a_label, "\n+++ ", b_label, "\n");
  const size_t ctx = static_cast<size_t>(std::max(context, 0));
  size_t k = 0;
  while (k < edits.size()) {
    if (edits[k].op == ' ') {
      ++k;
      continue;
    }
    // A hunk: from `ctx` kept lines before this change to `ctx` kept lines after the last
    // change that is at most 2*ctx kept lines from the one before.
    size_t start = k >= ctx ? k - ctx : 0;
    while (start < k && edits[start].op != ' ') ++start;
    size_t end = k;
    size_t last_change = k;
    while (end < edits.size()) {
      if (edits[end].op != ' ') {
        last_change = end;
      } else if (end - last_change > 2 * ctx) {
        break;
      }
      ++end;
    }
    end = std::min(edits.size(), last_change + 1 + ctx);
    size_t a_count = 0;
    size_t b_count = 0;
    std::string body;
    for (size_t e = start; e < end; ++e) {
      if (edits[e].op != '+') ++a_count;
      if (edits[e].op != '-') ++b_count;
      absl::StrAppend(&body, std::string(1, edits[e].op), edits[e].text, "\n");
    }
    absl::StrAppend(&out, "@@ -", Range(edits[start].a_line, a_count), " +",
                    Range(edits[start].b_line, b_count), " @@\n", body);
    k = end;
  }
  return out;
}

}  // namespace clownix::cli::labtest
