#include "clients/common/topology_file.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "clients/common/yaml_to_json.h"
#include "common/file_io.h"
#include "google/protobuf/util/json_util.h"

namespace clownix::clients {
namespace {

absl::Status Empty(absl::string_view source) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": empty topology file"));
}

absl::Status ParseJson(absl::string_view json, v1::Network* network) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), network, options);
  return absl::Status(static_cast<absl::StatusCode>(status.code()), std::string(status.message()));
}

// What protobuf's JSON parser says, taken apart. It has no structured errors, so its message is
// read (if its format changes, the message is shown whole, without a line):
//   "(vms[0].nic_count): invalid value ..." and "(vms[0]) nics: Cannot find field." for a field;
//   "MESSAGE\nCONTEXT\n    ^" for malformed JSON, CONTEXT being up to 20 bytes on either side of
//   the error, taken from the text (or from its tail, for an error found at the end).
struct ParserError {
  std::string path;  // proto names: "vms[0].nic_count"
  std::string what;
  std::string context;
  size_t caret = 0;
  bool has_context = false;
};

ParserError Dissect(absl::string_view message) {
  ParserError error;
  std::vector<absl::string_view> lines = absl::StrSplit(message, '\n');
  if (lines.size() >= 3 && absl::EndsWith(lines.back(), "^") &&
      absl::StripLeadingAsciiWhitespace(lines.back()) == "^") {
    error.what = std::string(lines.front());
    error.context = absl::StrJoin(lines.begin() + 1, lines.end() - 1, "\n");
    error.caret = lines.back().size() - 1;
    error.has_context = true;
    return error;
  }
  error.what = std::string(message);
  if (absl::StartsWith(message, "(")) {
    size_t close = message.find(')');
    if (close != absl::string_view::npos) {
      error.path = std::string(message.substr(1, close - 1));
      absl::string_view rest = message.substr(close + 1);
      if (absl::ConsumePrefix(&rest, " ")) {  // "(vms[0]) nics: Cannot find field."
        size_t colon = rest.find(": ");
        if (colon != absl::string_view::npos) {
          absl::StrAppend(&error.path, ".", rest.substr(0, colon));
          rest = rest.substr(colon);
        }
      }
      absl::ConsumePrefix(&rest, ": ");
      error.what = std::string(rest);
    }
  }
  return error;
}

// "LINE:COLUMN" of a byte offset, 1-based.
std::string LineColumn(absl::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  const absl::string_view before = text.substr(0, offset);
  const size_t line = std::count(before.begin(), before.end(), '\n') + 1;
  const size_t line_start = before.rfind('\n');
  const size_t column = line_start == absl::string_view::npos ? offset + 1 : offset - line_start;
  return absl::StrCat(line, ":", column);
}

// Where the parser's context is in the text: only when it occurs once.
std::optional<size_t> ContextOffset(absl::string_view text, const ParserError& error) {
  if (error.context.empty()) return text.size();
  const size_t at = text.find(error.context);
  if (at == absl::string_view::npos ||
      text.find(error.context, at + 1) != absl::string_view::npos) {
    return std::nullopt;
  }
  return at + error.caret;
}

// The parser's error on a document that was read as YAML too (`root`): its path located there.
absl::Status LocatedParserError(absl::string_view source, const YAML::Node& root,
                                const ParserError& error) {
  std::optional<YamlPosition> at =
      error.path.empty() ? std::nullopt : FindPath(root, *v1::Network::descriptor(), error.path);
  if (!at.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", error.what));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(source, ":", at->line, ":", at->column, ": ", error.path, ": ", error.what));
}

// Why JSON's parser refused `text`, with the line: protobuf's message locates nothing, so the text
// is read again (as YAML, which JSON nearly is) to find the place, and checked the way YAML is
// (yaml_to_json.h), which names the field and says what was expected.
absl::Status ExplainJsonError(absl::string_view text, absl::string_view source,
                              absl::string_view parser_message) {
  const ParserError error = Dissect(parser_message);
  if (error.has_context) {
    if (std::optional<size_t> offset = ContextOffset(text, error); offset.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", LineColumn(text, *offset), ": malformed JSON: ", error.what));
    }
    return absl::InvalidArgumentError(absl::StrCat(source, ": malformed JSON: ", error.what, "\n",
                                                   error.context, "\n",
                                                   std::string(error.caret, ' '), "^"));
  }
  absl::StatusOr<YAML::Node> root = LoadYamlDocument(text, source);
  if (!root.ok()) {
    // Valid to protobuf's lenient parser but not to yaml-cpp: no place to give.
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not a clownix.v1.Network in JSON: ", parser_message));
  }
  YamlToJsonOptions options;
  options.source = std::string(source);
  options.reject_duplicate_keys = false;  // JSON's parser takes them
  absl::StatusOr<std::string> checked = YamlToJson(*root, *v1::Network::descriptor(), options);
  if (!checked.ok()) return checked.status();
  return LocatedParserError(source, *root, error);
}

bool LooksLikeJson(absl::string_view text) {
  absl::string_view start = absl::StripLeadingAsciiWhitespace(text);
  return absl::StartsWith(start, "{") || absl::StartsWith(start, "[");
}

}  // namespace

absl::StatusOr<v1::Network> ParseTopologyJson(absl::string_view text, absl::string_view source) {
  if (absl::StripAsciiWhitespace(text).empty()) return Empty(source);
  v1::Network network;
  if (absl::Status status = ParseJson(text, &network); !status.ok()) {
    return ExplainJsonError(text, source, status.message());
  }
  return network;
}

absl::StatusOr<v1::Network> ParseTopologyYaml(absl::string_view text, absl::string_view source) {
  absl::StatusOr<YAML::Node> root = LoadYamlDocument(text, source);
  if (!root.ok()) return root.status();
  if (root->IsNull()) return Empty(source);
  YamlToJsonOptions options;
  options.source = std::string(source);
  absl::StatusOr<std::string> json = YamlToJson(*root, *v1::Network::descriptor(), options);
  if (!json.ok()) return json.status();
  v1::Network network;
  if (absl::Status status = ParseJson(*json, &network); !status.ok()) {
    return LocatedParserError(source, *root, Dissect(status.message()));
  }
  return network;
}

absl::StatusOr<v1::Network> ParseTopology(absl::string_view text, absl::string_view source) {
  return LooksLikeJson(text) ? ParseTopologyJson(text, source) : ParseTopologyYaml(text, source);
}

absl::StatusOr<v1::Network> ReadTopologyFile(const std::string& path) {
  if (path == "-") {
    std::stringstream text;
    text << std::cin.rdbuf();
    return ParseTopology(text.str(), "<stdin>");
  }
  absl::StatusOr<std::string> file = common::ReadFile(path);
  if (!file.ok()) {
    return absl::Status(file.status().code(),
                        absl::StrCat("cannot read the topology file: ", file.status().message()));
  }
  return ParseTopologyFile(*file, path);
}

absl::StatusOr<v1::Network> ParseTopologyFile(absl::string_view text, absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (absl::EndsWith(lower, ".json")) return ParseTopologyJson(text, name);
  if (absl::EndsWith(lower, ".yaml") || absl::EndsWith(lower, ".yml")) {
    return ParseTopologyYaml(text, name);
  }
  return ParseTopology(text, name);
}

}  // namespace clownix::clients
