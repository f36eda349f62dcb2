#include "clients/cli/lab/proto_yaml.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace clownix::cli {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool IsPlainSafe(absl::string_view text) {
  if (text.empty()) return false;
  if (!absl::ascii_isalpha(text[0]) && text[0] != '_' && text[0] != '/') return false;
  for (char c : text) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '/' && c != '-' && c != ':') {
      return false;
    }
  }
  if (text.back() == ':') return false;
  // YAML 1.1 readers take these for booleans or null.
  const std::string lower = absl::AsciiStrToLower(text);
  for (const char* word : {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}) {
    if (lower == word) return false;
  }
  return true;
}

// Whether `text` can be a literal block: several lines, printable, no line of blanks only (a
// literal block cannot tell those from its indentation).
bool IsLiteralSafe(absl::string_view text) {
  if (text.find('\n') == absl::string_view::npos) return false;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      return false;
    }
  }
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!line.empty() && line.find_first_not_of(" \t") == absl::string_view::npos) return false;
    if (!line.empty() && line.back() == ' ') return false;
  }
  return true;
}

void AppendLiteral(absl::string_view text, int indent, std::string* out) {
  absl::string_view body = text;
  std::string chomp;
  if (body.empty() || body.back() != '\n') {
    chomp = "-";
  } else {
    body.remove_suffix(1);
    if (!body.empty() && body.back() == '\n') chomp = "+";
  }
  const bool leading_blank = !text.empty() && (text[0] == ' ' || text[0] == '\t');
  absl::StrAppend(out, "|", leading_blank ? "2" : "", chomp, "\n");
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    if (line.empty()) {
      out->push_back('\n');
    } else {
      absl::StrAppend(out, std::string(indent, ' '), line, "\n");
    }
  }
}

std::string Scalar(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* reflection = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(repeated ? reflection->GetRepeatedInt32(message, field, index)
                                   : reflection->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(repeated ? reflection->GetRepeatedInt64(message, field, index)
                                   : reflection->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(repeated ? reflection->GetRepeatedUInt32(message, field, index)
                                   : reflection->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(repeated ? reflection->GetRepeatedUInt64(message, field, index)
                                   : reflection->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(repeated ? reflection->GetRepeatedDouble(message, field, index)
                                   : reflection->GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(repeated ? reflection->GetRepeatedFloat(message, field, index)
                                   : reflection->GetFloat(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (repeated ? reflection->GetRepeatedBool(message, field, index)
                       : reflection->GetBool(message, field))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return (repeated ? reflection->GetRepeatedEnum(message, field, index)
                       : reflection->GetEnum(message, field))
          ->name();
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string value = repeated ? reflection->GetRepeatedString(message, field, index)
                                         : reflection->GetString(message, field);
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        return YamlQuote(absl::Base64Escape(value));
      }
      return YamlQuote(value);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "~";
}

void AppendMessage(const Message& message, int indent, bool first_inline, std::string* out);

// `name: value` for a singular non-message field, a literal block for a multi-line string.
void AppendScalarField(const Message& message, const FieldDescriptor* field, int indent,
                       const std::string& prefix, std::string* out) {
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
      field->type() != FieldDescriptor::TYPE_BYTES) {
    const std::string value = message.GetReflection()->GetString(message, field);
    if (IsLiteralSafe(value)) {
      absl::StrAppend(out, prefix, field->name(), ": ");
      AppendLiteral(value, indent + 2, out);
      return;
    }
  }
  absl::StrAppend(out, prefix, field->name(), ": ", Scalar(message, field, -1), "\n");
}

void AppendMap(const Message& message, const FieldDescriptor* field, int indent,
               const std::string& prefix, std::string* out) {
  const Reflection* reflection = message.GetReflection();
  const FieldDescriptor* key_field = field->message_type()->map_key();
  const FieldDescriptor* value_field = field->message_type()->map_value();
  struct Entry {
    std::string sort_key;
    std::string key;
    const Message* entry;
  };
  std::vector<Entry> entries;
  for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
    const Message& entry = reflection->GetRepeatedMessage(message, field, i);
    const std::string key = Scalar(entry, key_field, -1);
    // Numbers in numeric order.
    const std::string sort_key =
        key_field->cpp_type() == FieldDescriptor::CPPTYPE_STRING
            ? key
            : std::string(20 - std::min<size_t>(20, key.size()), '0') + key;
    entries.push_back({sort_key, key, &entry});
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.sort_key < b.sort_key; });
  absl::StrAppend(out, prefix, field->name(), ":\n");
  const std::string inner(indent + 2, ' ');
  for (const Entry& entry : entries) {
    if (value_field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      absl::StrAppend(out, inner, entry.key, ":\n");
      AppendMessage(entry.entry->GetReflection()->GetMessage(*entry.entry, value_field), indent + 4,
                    false, out);
    } else {
      absl::StrAppend(out, inner, entry.key, ": ", Scalar(*entry.entry, value_field, -1), "\n");
    }
  }
}

void AppendMessage(const Message& message, int indent, bool first_inline, std::string* out) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  // A NIC's index says which NIC even when it is eth0's 0.
  if (message.GetDescriptor()->full_name() == "clownix.v1.NicRef") {
    const FieldDescriptor* index = message.GetDescriptor()->FindFieldByName("index");
    if (index != nullptr && std::find(fields.begin(), fields.end(), index) == fields.end()) {
      fields.push_back(index);
      std::sort(fields.begin(), fields.end(),
                [](const FieldDescriptor* a, const FieldDescriptor* b) {
                  return a->number() < b->number();
                });
    }
  }
  if (fields.empty()) {
    absl::StrAppend(out, first_inline ? "" : std::string(indent, ' '), "{}\n");
    return;
  }
  bool first = true;
  for (const FieldDescriptor* field : fields) {
    const std::string prefix = first && first_inline ? "" : std::string(indent, ' ');
    first = false;
    if (field->is_map()) {
      AppendMap(message, field, indent, prefix, out);
    } else if (field->is_repeated()) {
      absl::StrAppend(out, prefix, field->name(), ":\n");
      const std::string dash = absl::StrCat(std::string(indent + 2, ' '), "- ");
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        out->append(dash);
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          AppendMessage(reflection->GetRepeatedMessage(message, field, i), indent + 4, true, out);
        } else {
          absl::StrAppend(out, Scalar(message, field, i), "\n");
        }
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      const Message& sub = reflection->GetMessage(message, field);
      std::vector<const FieldDescriptor*> sub_fields;
      sub.GetReflection()->ListFields(sub, &sub_fields);
      if (sub_fields.empty()) {
        absl::StrAppend(out, prefix, field->name(), ": {}\n");
      } else {
        absl::StrAppend(out, prefix, field->name(), ":\n");
        AppendMessage(sub, indent + 2, false, out);
      }
    } else {
      AppendScalarField(message, field, indent, prefix, out);
    }
  }
}

}  // namespace

std::string YamlQuote(absl::string_view text) {
  if (IsPlainSafe(text)) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          absl::StrAppend(&out, absl::StrFormat("\\x%02x", static_cast<unsigned char>(c)));
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"";
  return out;
}

std::string ToYaml(const google::protobuf::Message& message) {
  std::string out;
  AppendMessage(message, 0, false, &out);
  return out;
}

}  // namespace clownix::cli
