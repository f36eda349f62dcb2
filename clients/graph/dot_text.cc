#include "clients/graph/dot_text.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"

namespace clownix::graph {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at the start of `text`, or 0 if it is not one (overlong
// forms, surrogates and code points above U+10FFFF included).
size_t Utf8SequenceLength(absl::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length;
  uint32_t min;
  uint32_t code;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, min = 0x80, code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, min = 0x800, code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, min = 0x10000, code = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

// Calls `emit(piece)` for each code point of `text`: valid sequences as they are, control
// characters as a space and invalid bytes as U+FFFD.
template <typename Emit>
void ForEachCodePoint(absl::string_view text, Emit emit) {
  while (!text.empty()) {
    size_t length = Utf8SequenceLength(text);
    if (length == 0) {
      emit(absl::string_view(kReplacement));
      text.remove_prefix(1);
      continue;
    }
    absl::string_view piece = text.substr(0, length);
    uint8_t lead = static_cast<uint8_t>(piece[0]);
    // C0 controls, DEL, and the C1 controls (U+0080..U+009F, encoded C2 80..C2 9F).
    bool control =
        lead < 0x20 || lead == 0x7F || (lead == 0xC2 && static_cast<uint8_t>(piece[1]) < 0xA0);
    emit(control ? absl::string_view(" ") : piece);
    text.remove_prefix(length);
  }
}

}  // namespace

std::string DotQuote(absl::string_view text) {
  std::string out = "\"";
  ForEachCodePoint(text, [&](absl::string_view piece) {
    if (piece == "\"" || piece == "\\") out += '\\';
    absl::StrAppend(&out, piece);
  });
  out += '"';
  return out;
}

std::string DotHtml(absl::string_view text) {
  std::string out;
  ForEachCodePoint(text, [&](absl::string_view piece) {
    if (piece == "&") {
      out += "&amp;";
    } else if (piece == "<") {
      out += "&lt;";
    } else if (piece == ">") {
      out += "&gt;";
    } else if (piece == "\"") {
      out += "&quot;";
    } else if (piece == "'") {
      out += "&#39;";
    } else {
      absl::StrAppend(&out, piece);
    }
  });
  return out;
}

std::string Ellipsize(absl::string_view text, size_t max_chars) {
  std::vector<absl::string_view> pieces;
  absl::string_view rest = text;
  while (!rest.empty()) {
    size_t length = Utf8SequenceLength(rest);
    if (length == 0) length = 1;
    pieces.push_back(rest.substr(0, length));
    rest.remove_prefix(length);
  }
  if (pieces.size() <= max_chars) return std::string(text);
  if (max_chars == 0) return "";
  std::string out;
  for (size_t i = 0; i + 1 < max_chars; ++i) absl::StrAppend(&out, pieces[i]);
  out += "\xE2\x80\xA6";  // …
  return out;
}

}  // namespace clownix::graph
