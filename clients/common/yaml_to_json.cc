#include "clients/common/yaml_to_json.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "yaml-cpp/eventhandler.h"

namespace clownix::clients {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::EnumDescriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::OneofDescriptor;

constexpr char kStrTag[] = "tag:yaml.org,2002:str";

// Values of well-known types (google.protobuf.*) have JSON forms of their own; they are copied
// as YAML says and left to the parser. Their nesting is not bounded by a descriptor, so it is
// bounded here (an alias inside its own anchor makes a cycle).
constexpr int kMaxGenericDepth = 64;

enum class Kind { kNull, kBool, kInt, kFloat, kString };

// "SOURCE:LINE:COLUMN: PATH: what", without what is unknown.
absl::Status ErrorAt(absl::string_view source, const YAML::Mark& mark, absl::string_view path,
                     absl::string_view what) {
  std::string where(source);
  if (mark.line >= 0 && mark.column >= 0)
    absl::StrAppend(&where, ":", mark.line + 1, ":", mark.column + 1);
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": ", path, path.empty() ? "" : ": ", what));
}

void AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

std::string JsonString(absl::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

bool IsPlain(const YAML::Node& node) { return node.Tag() == "?"; }

bool AllOf(absl::string_view s, int (*predicate)(int)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [predicate](char c) {
    return predicate(static_cast<unsigned char>(c)) != 0;
  });
}

int IsOctal(int c) { return c >= '0' && c <= '7'; }

// The core schema's int: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+. (Hand-written, not std::regex:
// libstdc++'s regex recurses once per character and overflows the stack on a long scalar.)
bool IsCoreInt(absl::string_view t) {
  if (absl::ConsumePrefix(&t, "0o")) return AllOf(t, IsOctal);
  if (absl::ConsumePrefix(&t, "0x")) return AllOf(t, isxdigit);
  if (!absl::ConsumePrefix(&t, "-")) absl::ConsumePrefix(&t, "+");
  return AllOf(t, isdigit);
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)
bool IsCoreFloat(absl::string_view t) {
  if (t == ".nan" || t == ".NaN" || t == ".NAN") return true;
  if (!absl::ConsumePrefix(&t, "-")) absl::ConsumePrefix(&t, "+");
  if (t == ".inf" || t == ".Inf" || t == ".INF") return true;
  auto digits = [&t]() {
    size_t n = 0;
    while (n < t.size() && absl::ascii_isdigit(t[n])) ++n;
    t.remove_prefix(n);
    return n;
  };
  const size_t whole = digits();
  size_t fraction = 0;
  if (absl::ConsumePrefix(&t, ".")) fraction = digits();
  if (whole == 0 && fraction == 0) return false;
  if (absl::ConsumePrefix(&t, "e") || absl::ConsumePrefix(&t, "E")) {
    if (!absl::ConsumePrefix(&t, "-")) absl::ConsumePrefix(&t, "+");
    if (digits() == 0) return false;
  }
  return t.empty();
}

// The YAML 1.2 core schema's reading of a scalar (what a YAML editor and a JSON Schema validator
// see). Tags were checked before: the only explicit one left is !!str.
Kind Classify(const YAML::Node& node) {
  if (node.IsNull()) return Kind::kNull;
  if (!IsPlain(node)) return Kind::kString;  // quoted, a block scalar, or !!str
  const std::string& t = node.Scalar();
  if (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL") return Kind::kNull;
  if (t == "true" || t == "True" || t == "TRUE" || t == "false" || t == "False" || t == "FALSE") {
    return Kind::kBool;
  }
  if (IsCoreInt(t)) return Kind::kInt;
  if (IsCoreFloat(t)) return Kind::kFloat;
  return Kind::kString;
}

// What a node is, for "got ..." in messages.
std::string Got(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (node.IsNull()) return "nothing";
  if (Classify(node) == Kind::kString) return JsonString(node.Scalar());
  return node.Scalar();
}

std::string TagName(const std::string& tag) {
  absl::string_view t = tag;
  if (absl::ConsumePrefix(&t, "tag:yaml.org,2002:")) return absl::StrCat("!!", t);
  return tag;
}

// A YAML int (decimal, 0o octal or 0x hex) as sign and magnitude; nullopt when it overflows.
struct CoreInt {
  bool negative = false;
  uint64_t magnitude = 0;
};
std::optional<CoreInt> ParseCoreInt(absl::string_view text) {
  CoreInt value;
  int base = 10;
  if (absl::ConsumePrefix(&text, "0x")) {
    base = 16;
  } else if (absl::ConsumePrefix(&text, "0o")) {
    base = 8;
  } else if (absl::ConsumePrefix(&text, "-")) {
    value.negative = true;
  } else {
    absl::ConsumePrefix(&text, "+");
  }
  for (char c : text) {
    const int digit = absl::ascii_isdigit(c) ? c - '0' : absl::ascii_tolower(c) - 'a' + 10;
    if (value.magnitude > (std::numeric_limits<uint64_t>::max() - digit) / base) {
      return std::nullopt;
    }
    value.magnitude = value.magnitude * base + digit;
  }
  if (value.magnitude == 0) value.negative = false;
  return value;
}

std::string IntRange(FieldDescriptor::CppType type) {
  switch (type) {
    case FieldDescriptor::CPPTYPE_INT32:
      return "an integer from -2147483648 to 2147483647";
    case FieldDescriptor::CPPTYPE_UINT32:
      return "an integer from 0 to 4294967295";
    case FieldDescriptor::CPPTYPE_INT64:
      return "a 64-bit integer";
    default:
      return "an integer from 0 to 18446744073709551615";
  }
}

bool InRange(const CoreInt& v, FieldDescriptor::CppType type) {
  switch (type) {
    case FieldDescriptor::CPPTYPE_INT32:
      return v.magnitude <= (v.negative ? 2147483648u : 2147483647u);
    case FieldDescriptor::CPPTYPE_UINT32:
      return !v.negative && v.magnitude <= 4294967295u;
    case FieldDescriptor::CPPTYPE_INT64:
      return v.magnitude <= (v.negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1);
    default:
      return !v.negative;
  }
}

std::string Article(absl::string_view name) {
  const bool vowel = !name.empty() && absl::StrContains("AEIOU", name[0]);
  return absl::StrCat(vowel ? "an " : "a ", name);
}

bool IsWellKnown(const Descriptor& type) {
  return absl::StartsWith(type.file()->name(), "google/protobuf/");
}

// The field a key names: its proto name or its JSON name, as protobuf's JSON parser takes them.
const FieldDescriptor* FindField(const Descriptor& type, absl::string_view key) {
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* field = type.field(i);
    if (field->name() == key || field->json_name() == key) return field;
  }
  return nullptr;
}

std::string FieldNames(const Descriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.field_count(); ++i) names.push_back(type.field(i)->name());
  return absl::StrJoin(names, ", ");
}

int IsNameChar(int c) { return absl::ascii_isalnum(c) || c == '_' || c == '-'; }

std::string KeyPath(absl::string_view path, absl::string_view key) {
  if (!AllOf(key, IsNameChar)) {
    return absl::StrCat(path, "[", JsonString(key), "]");
  }
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

class Converter {
 public:
  explicit Converter(const YamlToJsonOptions& options) : options_(options) {}

  absl::Status Message(const YAML::Node& node, const Descriptor& type, const std::string& path,
                       std::string* out) {
    if (node.IsNull()) {
      *out += "null";
      return absl::OkStatus();
    }
    if (absl::Status tag = CheckTag(node, path); !tag.ok()) return tag;
    if (!node.IsMap()) {
      return ErrorAt(node, path,
                     absl::StrCat("expected a map (the fields of ", Article(type.name()), "), got ",
                                  Got(node)));
    }
    std::map<const FieldDescriptor*, std::pair<std::string, YAML::Mark>> seen;
    std::map<const OneofDescriptor*, std::pair<std::string, YAML::Mark>> oneofs;
    out->push_back('{');
    bool first = true;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies (handles): `it->` returns a temporary that a reference would outlive.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      absl::StatusOr<std::string> name = Key(key, path);
      if (!name.ok()) return name.status();
      const std::string child = KeyPath(path, *name);
      if (*name == "<<" && IsPlain(key)) {
        return ErrorAt(key, path,
                       "merge keys (<<) are not supported: write the fields out, or make the "
                       "whole map an alias");
      }
      const FieldDescriptor* field = FindField(type, *name);
      if (field == nullptr) {
        return ErrorAt(
            key, child,
            absl::StrCat("unknown field; ", Article(type.name()), " has: ", FieldNames(type)));
      }
      if (auto [was, fresh] = seen.try_emplace(field, *name, key.Mark()); !fresh) {
        if (options_.reject_duplicate_keys) {
          return ErrorAt(
              key, child,
              was->second.first == *name
                  ? absl::StrCat("duplicate key (first on line ", was->second.second.line + 1, ")")
                  : absl::StrCat("sets ", field->name(), " again (as ", was->second.first,
                                 " on line ", was->second.second.line + 1, ")"));
        }
      }
      const OneofDescriptor* oneof = field->real_containing_oneof();
      if (oneof != nullptr && !value.IsNull()) {
        auto [other, fresh] = oneofs.try_emplace(oneof, *name, key.Mark());
        if (!fresh && other->second.first != *name) {
          return ErrorAt(
              key, child,
              absl::StrCat(other->second.first, " is set too (line ", other->second.second.line + 1,
                           "): ", Article(type.name()), " has one of them only"));
        }
      }
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(field->json_name(), out);
      out->push_back(':');
      if (absl::Status status = Field(value, *field, child, out); !status.ok()) return status;
    }
    out->push_back('}');
    return absl::OkStatus();
  }

 private:
  // Tags have no JSON meaning. "?" and "!" are yaml-cpp's marks for no tag (plain and quoted),
  // "" a null's; !!str is the long form of quoting, so it is taken on scalars.
  absl::Status CheckTag(const YAML::Node& node, absl::string_view path) {
    const std::string& tag = node.Tag();
    if (tag.empty() || tag == "?" || tag == "!") return absl::OkStatus();
    if (tag == kStrTag && node.IsScalar()) return absl::OkStatus();
    return ErrorAt(node, path,
                   absl::StrCat("tag ", TagName(tag),
                                " is not supported (a topology file is plain data; quote a value "
                                "to make it a string)"));
  }

  // A map key: a scalar, taken as its text (JSON keys are strings).
  absl::StatusOr<std::string> Key(const YAML::Node& key, absl::string_view path) {
    if (absl::Status tag = CheckTag(key, path); !tag.ok()) return tag;
    if (key.IsNull()) return ErrorAt(key, path, "a key is empty (null)");
    if (!key.IsScalar()) {
      return ErrorAt(key, path, absl::StrCat("a key must be a name, not ", Got(key)));
    }
    return key.Scalar();
  }

  absl::Status Field(const YAML::Node& node, const FieldDescriptor& field, const std::string& path,
                     std::string* out) {
    if (node.IsNull()) {  // JSON's null: the field's default
      *out += "null";
      return absl::OkStatus();
    }
    if (absl::Status tag = CheckTag(node, path); !tag.ok()) return tag;
    if (field.is_map()) {
      if (!node.IsMap()) {
        return ErrorAt(node, path, absl::StrCat("expected a map, got ", Got(node)));
      }
      const FieldDescriptor& value_field = *field.message_type()->FindFieldByNumber(2);
      std::map<std::string, YAML::Mark> keys;
      out->push_back('{');
      bool first = true;
      for (auto it = node.begin(); it != node.end(); ++it) {
        absl::StatusOr<std::string> key = Key(it->first, path);
        if (!key.ok()) return key.status();
        const std::string child = KeyPath(path, *key);
        if (auto [was, fresh] = keys.try_emplace(*key, it->first.Mark());
            !fresh && options_.reject_duplicate_keys) {
          return ErrorAt(it->first, child,
                         absl::StrCat("duplicate key (first on line ", was->second.line + 1, ")"));
        }
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(*key, out);
        out->push_back(':');
        if (absl::Status status = Singular(it->second, value_field, child, out); !status.ok()) {
          return status;
        }
      }
      out->push_back('}');
      return absl::OkStatus();
    }
    if (field.is_repeated()) {
      if (!node.IsSequence()) {
        return ErrorAt(node, path, absl::StrCat("expected a list, got ", Got(node)));
      }
      out->push_back('[');
      for (size_t i = 0; i < node.size(); ++i) {
        const std::string child = absl::StrCat(path, "[", i, "]");
        if (i > 0) out->push_back(',');
        if (node[i].IsNull() && options_.reject_duplicate_keys) {
          // JSON's parser skips a null in a list; in YAML it is a stray "-". yaml-cpp puts a
          // null's mark at the next token, so the list's is given, the path says which entry.
          return ErrorAt(node, child, "an empty entry");
        }
        if (absl::Status status = Singular(node[i], field, child, out); !status.ok()) {
          return status;
        }
      }
      out->push_back(']');
      return absl::OkStatus();
    }
    return Singular(node, field, path, out);
  }

  // One value of `field` (an element when it is repeated).
  absl::Status Singular(const YAML::Node& node, const FieldDescriptor& field,
                        const std::string& path, std::string* out) {
    if (absl::Status tag = CheckTag(node, path); !tag.ok()) return tag;
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (IsWellKnown(*field.message_type())) return Generic(node, path, 0, out);
      return Message(node, *field.message_type(), path, out);
    }
    const Kind kind = node.IsScalar() || node.IsNull() ? Classify(node) : Kind::kNull;
    if (node.IsScalar() || node.IsNull()) {
      if (kind == Kind::kNull) {
        *out += "null";
        return absl::OkStatus();
      }
    }
    const std::string& text = node.IsScalar() ? node.Scalar() : "";
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        if (node.IsScalar() && kind == Kind::kString) {
          AppendJsonString(text, out);
          return absl::OkStatus();
        }
        if (node.IsScalar()) {
          return ErrorAt(
              node, path,
              absl::StrCat("expected a string, got ", text, " (quote it: ", JsonString(text), ")"));
        }
        return ErrorAt(node, path, absl::StrCat("expected a string, got ", Got(node)));
      case FieldDescriptor::CPPTYPE_BOOL:
        if (node.IsScalar() && kind == Kind::kBool) {
          *out += absl::AsciiStrToLower(text);
          return absl::OkStatus();
        }
        if (node.IsScalar() && kind == Kind::kString) {  // "true": the parser decides
          AppendJsonString(text, out);
          return absl::OkStatus();
        }
        return ErrorAt(node, path, absl::StrCat("expected true or false, got ", Got(node)));
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
        return Integer(node, kind, field.cpp_type(), path, out);
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return Number(node, kind, path, out);
      case FieldDescriptor::CPPTYPE_ENUM:
        return Enum(node, kind, *field.enum_type(), path, out);
      case FieldDescriptor::CPPTYPE_MESSAGE:
        break;  // handled above
    }
    return ErrorAt(node, path, "unsupported field type");
  }

  absl::Status Integer(const YAML::Node& node, Kind kind, FieldDescriptor::CppType type,
                       const std::string& path, std::string* out) {
    const bool wide =
        type == FieldDescriptor::CPPTYPE_INT64 || type == FieldDescriptor::CPPTYPE_UINT64;
    if (node.IsScalar() && kind == Kind::kInt) {
      std::optional<CoreInt> value = ParseCoreInt(node.Scalar());
      if (!value.has_value() || !InRange(*value, type)) {
        return ErrorAt(node, path,
                       absl::StrCat("expected ", IntRange(type), ", got ", node.Scalar()));
      }
      // 64-bit integers as strings, as protobuf prints them: a JSON number is a double.
      absl::StrAppend(out, wide ? "\"" : "", value->negative ? "-" : "", value->magnitude,
                      wide ? "\"" : "");
      return absl::OkStatus();
    }
    if (node.IsScalar() && kind == Kind::kFloat) {
      double d = std::strtod(node.Scalar().c_str(), nullptr);
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
        absl::StrAppend(out, absl::StrFormat("%.0f", d));
        return absl::OkStatus();
      }
      return ErrorAt(node, path, absl::StrCat("expected an integer, got ", node.Scalar()));
    }
    double unused;
    if (node.IsScalar() && kind == Kind::kString && absl::SimpleAtod(node.Scalar(), &unused)) {
      AppendJsonString(node.Scalar(), out);  // "12": the parser takes numbers in strings
      return absl::OkStatus();
    }
    return ErrorAt(node, path, absl::StrCat("expected an integer, got ", Got(node)));
  }

  absl::Status Number(const YAML::Node& node, Kind kind, const std::string& path,
                      std::string* out) {
    if (node.IsScalar() && (kind == Kind::kInt || kind == Kind::kFloat)) {
      const std::string lower = absl::AsciiStrToLower(node.Scalar());
      if (absl::EndsWith(lower, ".nan")) {
        *out += "\"NaN\"";
      } else if (absl::EndsWith(lower, ".inf")) {
        *out += absl::StartsWith(lower, "-") ? "\"-Infinity\"" : "\"Infinity\"";
      } else if (kind == Kind::kInt) {
        std::optional<CoreInt> value = ParseCoreInt(node.Scalar());
        if (!value.has_value()) {
          return ErrorAt(node, path, absl::StrCat("number out of range: ", node.Scalar()));
        }
        absl::StrAppend(out, value->negative ? "-" : "", value->magnitude);
      } else {
        absl::StrAppend(out, absl::StrFormat("%.17g", std::strtod(node.Scalar().c_str(), nullptr)));
      }
      return absl::OkStatus();
    }
    if (node.IsScalar() && kind == Kind::kString) {  // "1.5", "NaN": the parser decides
      AppendJsonString(node.Scalar(), out);
      return absl::OkStatus();
    }
    return ErrorAt(node, path, absl::StrCat("expected a number, got ", Got(node)));
  }

  absl::Status Enum(const YAML::Node& node, Kind kind, const EnumDescriptor& type,
                    const std::string& path, std::string* out) {
    if (node.IsScalar() && kind == Kind::kString) {
      if (type.FindValueByName(node.Scalar()) != nullptr) {
        AppendJsonString(node.Scalar(), out);
        return absl::OkStatus();
      }
    } else if (node.IsScalar() && kind == Kind::kInt) {
      std::optional<CoreInt> value = ParseCoreInt(node.Scalar());
      if (value.has_value() && InRange(*value, FieldDescriptor::CPPTYPE_INT32)) {
        absl::StrAppend(out, value->negative ? "-" : "", value->magnitude);
        return absl::OkStatus();
      }
    }
    std::vector<std::string> names;
    for (int i = 0; i < type.value_count(); ++i) names.push_back(type.value(i)->name());
    return ErrorAt(
        node, path,
        absl::StrCat("expected one of ", absl::StrJoin(names, ", "), ", got ", Got(node)));
  }

  // A value of a well-known type: copied as the core schema reads it.
  absl::Status Generic(const YAML::Node& node, const std::string& path, int depth,
                       std::string* out) {
    if (depth > kMaxGenericDepth) return ErrorAt(node, path, "nested too deeply");
    if (absl::Status tag = CheckTag(node, path); !tag.ok()) return tag;
    if (node.IsMap()) {
      out->push_back('{');
      bool first = true;
      for (auto it = node.begin(); it != node.end(); ++it) {
        absl::StatusOr<std::string> key = Key(it->first, path);
        if (!key.ok()) return key.status();
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(*key, out);
        out->push_back(':');
        absl::Status status = Generic(it->second, KeyPath(path, *key), depth + 1, out);
        if (!status.ok()) return status;
      }
      out->push_back('}');
      return absl::OkStatus();
    }
    if (node.IsSequence()) {
      out->push_back('[');
      for (size_t i = 0; i < node.size(); ++i) {
        if (i > 0) out->push_back(',');
        absl::Status status = Generic(node[i], absl::StrCat(path, "[", i, "]"), depth + 1, out);
        if (!status.ok()) return status;
      }
      out->push_back(']');
      return absl::OkStatus();
    }
    switch (Classify(node)) {
      case Kind::kNull:
        *out += "null";
        return absl::OkStatus();
      case Kind::kBool:
        *out += absl::AsciiStrToLower(node.Scalar());
        return absl::OkStatus();
      case Kind::kInt:
      case Kind::kFloat:
        return Number(node, Classify(node), path, out);
      case Kind::kString:
        AppendJsonString(node.Scalar(), out);
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  absl::Status ErrorAt(const YAML::Mark& mark, absl::string_view path, absl::string_view what) {
    return ::clownix::clients::ErrorAt(options_.source, mark, path, what);
  }
  absl::Status ErrorAt(const YAML::Node& node, absl::string_view path, absl::string_view what) {
    return ErrorAt(node.Mark(), path, what);
  }

  const YamlToJsonOptions options_;
};

// One component of a protobuf error path: "vms[1]" is {"vms", 1}.
struct PathPart {
  std::string name;
  std::optional<size_t> index;
};

std::optional<PathPart> ParsePart(absl::string_view part) {
  PathPart result;
  size_t open = part.find('[');
  if (open == absl::string_view::npos) {
    result.name = std::string(part);
    return result;
  }
  result.name = std::string(part.substr(0, open));
  absl::string_view index = part.substr(open + 1);
  size_t value;
  if (!absl::ConsumeSuffix(&index, "]") || !absl::SimpleAtoi(index, &value)) return std::nullopt;
  result.index = value;
  return result;
}

// Where each document starts; nothing else of the parse is kept.
class DocumentStarts : public YAML::EventHandler {
 public:
  YAML::Mark last;

  void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

YamlPosition PositionOf(const YAML::Node& node) {
  return {node.Mark().line + 1, node.Mark().column + 1};
}

}  // namespace

absl::StatusOr<YAML::Node> LoadYamlDocument(absl::string_view text, absl::string_view source) {
  // yaml-cpp 0.7's LoadAll never ends on text after a closed flow collection (`{a: 1},`: it
  // returns the same empty document again and again), so documents are counted by hand, two at
  // most, and only the first is loaded.
  const std::string copy(text);
  try {
    std::istringstream stream(copy);
    YAML::Parser parser(stream);
    DocumentStarts starts;
    if (parser.HandleNextDocument(starts) && parser.HandleNextDocument(starts)) {
      return ErrorAt(source, starts.last, "",
                     "more after the end of the document: a topology file is one YAML document "
                     "(no ---, nothing after the closing } or ])");
    }
    return YAML::Load(copy);
  } catch (const YAML::Exception& e) {  // yaml-cpp throws; nothing else in clownix does
    return ErrorAt(source, e.mark, "", e.msg);
  }
}

absl::StatusOr<std::string> YamlToJson(const YAML::Node& root, const Descriptor& type,
                                       const YamlToJsonOptions& options) {
  std::string json;
  Converter converter(options);
  if (absl::Status status = converter.Message(root, type, "", &json); !status.ok()) return status;
  return json;
}

std::optional<YamlPosition> FindPath(const YAML::Node& root, const Descriptor& type,
                                     absl::string_view path) {
  YAML::Node node = root;
  const Descriptor* message = &type;
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  for (size_t p = 0; p < parts.size(); ++p) {
    std::optional<PathPart> part = ParsePart(parts[p]);
    if (!part.has_value() || message == nullptr || !node.IsMap()) return PositionOf(node);
    const FieldDescriptor* field = FindField(*message, part->name);
    if (field == nullptr) return PositionOf(node);
    YAML::Node value;
    bool found = false;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it->first.IsScalar() && FindField(*message, it->first.Scalar()) == field) {
        value = it->second;  // the last one: JSON's parser keeps the last of duplicates
        found = true;
      }
    }
    if (!found) return PositionOf(node);
    node = value;
    message = field->message_type();
    if (part->index.has_value()) {
      if (field->is_map() && node.IsMap() && *part->index < node.size()) {
        auto it = node.begin();
        std::advance(it, *part->index);
        const bool key = p + 1 < parts.size() && parts[p + 1] == "key";
        node = key ? it->first : it->second;
        const FieldDescriptor* entry_field = field->message_type()->FindFieldByNumber(key ? 1 : 2);
        message = entry_field->message_type();
        ++p;  // "key" or "value"
      } else if (field->is_repeated() && node.IsSequence() && *part->index < node.size()) {
        node = node[*part->index];
      } else {
        return PositionOf(node);
      }
    }
  }
  return PositionOf(node);
}

}  // namespace clownix::clients
