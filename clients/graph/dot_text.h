// Text that goes into a Graphviz DOT file. Names in the API are restricted, but labels, label
// values and state reasons are user strings: everything passes through these functions, so no
// input can break out of a quoted ID or an HTML-like label, nor feed dot invalid UTF-8.
#ifndef CLOWNIX_CLIENTS_GRAPH_DOT_TEXT_H_
#define CLOWNIX_CLIENTS_GRAPH_DOT_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace clownix::graph {

// `text` as a double-quoted DOT ID: `"` and `\` are backslash-escaped, control characters become
// spaces, invalid UTF-8 bytes become U+FFFD.
std::string DotQuote(absl::string_view text);

// `text` for the inside of an HTML-like label (`label=<...>`): `& < > " '` become entities,
// control characters become spaces, invalid UTF-8 bytes become U+FFFD.
std::string DotHtml(absl::string_view text);

// At most `max_chars` code points of `text`; a cut string ends with "…" (within `max_chars`).
// `text` is taken as UTF-8; invalid bytes count as one code point each.
std::string Ellipsize(absl::string_view text, size_t max_chars);

}  // namespace clownix::graph

#endif  // CLOWNIX_CLIENTS_GRAPH_DOT_TEXT_H_
