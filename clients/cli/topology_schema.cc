#include "clients/cli/topology_schema.h"

#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "nlohmann/json.hpp"

namespace clownix::cli {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::DescriptorPool;
using ::google::protobuf::EnumDescriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::SourceLocation;
using Json = nlohmann::ordered_json;

// A comment as one paragraph: protoc keeps the lines and the space after "//".
std::string Paragraph(const std::string& comment) {
  std::vector<std::string> words;
  for (absl::string_view line : absl::StrSplit(comment, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) words.emplace_back(line);
  }
  return absl::StrJoin(words, " ");
}

template <typename D>
std::string CommentOf(const D& descriptor) {
  SourceLocation location;
  if (!descriptor.GetSourceLocation(&location)) return "";
  return Paragraph(location.leading_comments.empty() ? location.trailing_comments
                                                     : location.leading_comments);
}

std::string DefinitionName(const Descriptor& type) { return type.full_name(); }

class SchemaBuilder {
 public:
  Json Message(const Descriptor& type) {
    Json schema = Json::object();
    schema["type"] = "object";
    if (std::string comment = CommentOf(type); !comment.empty()) schema["description"] = comment;
    Json properties = Json::object();
    std::string previous_comment;
    const FieldDescriptor* previous = nullptr;
    for (int i = 0; i < type.field_count(); ++i) {
      const FieldDescriptor& field = *type.field(i);
      std::string comment = CommentOf(field);
      // A comment over several fields of a kind ("Percentages 0..100 of frames lost,
      // duplicated, ...") is protoc's for the first one only.
      if (comment.empty() && previous != nullptr && previous->type() == field.type()) {
        comment = previous_comment;
      }
      previous = &field;
      previous_comment = comment;
      Json property = Field(field);
      std::string description = comment;
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        description =
            absl::StrCat(description.empty() ? CommentOf(*field.enum_type()) : description,
                         EnumValues(*field.enum_type()));
      } else if (description.empty() && field.message_type() != nullptr && !field.is_map()) {
        description = CommentOf(*field.message_type());
      }
      Json described = Json::object();
      if (!description.empty()) described["description"] = description;
      if (absl::StrContains(comment, "Output only")) described["readOnly"] = true;
      described.update(property);
      properties[field.name()] = described;
      if (field.json_name() != field.name()) properties[field.json_name()] = described;
    }
    schema["properties"] = properties;
    schema["additionalProperties"] = false;
    // A oneof takes one member: no two of them (under either name) together.
    Json exclusions = Json::array();
    for (int o = 0; o < type.real_oneof_decl_count(); ++o) {
      const auto& oneof = *type.oneof_decl(o);  // the real ones come first
      for (int a = 0; a < oneof.field_count(); ++a) {
        for (int b = a + 1; b < oneof.field_count(); ++b) {
          for (const std::string& x : Names(*oneof.field(a))) {
            for (const std::string& y : Names(*oneof.field(b))) {
              exclusions.push_back({{"not", {{"required", {x, y}}}}});
            }
          }
        }
      }
    }
    if (!exclusions.empty()) schema["allOf"] = exclusions;
    return schema;
  }

  // The messages Message referred to that are not defined yet.
  std::vector<const Descriptor*> TakePending() {
    std::vector<const Descriptor*> pending;
    pending.swap(pending_);
    return pending;
  }

 private:
  static std::vector<std::string> Names(const FieldDescriptor& field) {
    if (field.json_name() == field.name()) return {field.name()};
    return {field.name(), field.json_name()};
  }

  static std::string EnumValues(const EnumDescriptor& type) {
    std::string text;
    for (int i = 0; i < type.value_count(); ++i) {
      std::string comment = CommentOf(*type.value(i));
      absl::StrAppend(
          &text, i == 0 ? " Values: " : "; ", type.value(i)->name(),
          comment.empty() ? "" : absl::StrCat(" (", absl::StripSuffix(comment, "."), ")"));
    }
    return absl::StrCat(text, ".");
  }

  Json Field(const FieldDescriptor& field) {
    if (field.is_map()) {
      return {{"type", "object"},
              {"additionalProperties", Value(*field.message_type()->FindFieldByNumber(2))}};
    }
    if (field.is_repeated()) return {{"type", "array"}, {"items", Value(field)}};
    return Value(field);
  }

  // One value of the field, as the protobuf JSON mapping writes it.
  Json Value(const FieldDescriptor& field) {
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        return {{"type", "string"}};
      case FieldDescriptor::CPPTYPE_BOOL:
        return {{"type", "boolean"}};
      case FieldDescriptor::CPPTYPE_INT32:
        return {{"type", "integer"}, {"minimum", -2147483648LL}, {"maximum", 2147483647}};
      case FieldDescriptor::CPPTYPE_UINT32:
        return {{"type", "integer"}, {"minimum", 0}, {"maximum", 4294967295LL}};
      case FieldDescriptor::CPPTYPE_INT64:
        return {
            {"anyOf", {{{"type", "integer"}}, {{"type", "string"}, {"pattern", "^-?[0-9]+$"}}}}};
      case FieldDescriptor::CPPTYPE_UINT64:
        return {{"anyOf",
                 {{{"type", "integer"}, {"minimum", 0}},
                  {{"type", "string"}, {"pattern", "^[0-9]+$"}}}}};
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return {{"anyOf", {{{"type", "number"}}, {{"enum", {"NaN", "Infinity", "-Infinity"}}}}}};
      case FieldDescriptor::CPPTYPE_ENUM: {
        Json names = Json::array();
        for (int i = 0; i < field.enum_type()->value_count(); ++i) {
          names.push_back(field.enum_type()->value(i)->name());
        }
        return {{"enum", names}};
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (seen_.insert(field.message_type()).second) pending_.push_back(field.message_type());
        return {{"$ref", absl::StrCat("#/definitions/", DefinitionName(*field.message_type()))}};
    }
    return Json::object();
  }

  std::set<const Descriptor*> seen_;
  std::vector<const Descriptor*> pending_;
};

}  // namespace

absl::StatusOr<std::string> TopologySchema(const google::protobuf::FileDescriptorSet& files,
                                           const std::string& root) {
  DescriptorPool pool;
  for (const auto& file : files.file()) {
    if (pool.BuildFile(file) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("cannot build ", file.name()));
    }
  }
  const Descriptor* network = pool.FindMessageTypeByName(root);
  if (network == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(root, " is not in the descriptor set"));
  }
  SchemaBuilder builder;
  Json schema = Json::object();
  schema["$schema"] = "http://json-schema.org/draft-07/schema#";
  schema["title"] = "clownix topology file";
  schema.update(builder.Message(*network));
  schema["description"] = absl::StrCat(
      "A clownix network (", root, ") for `clownix apply FILE`, in JSON or YAML. Generated from ",
      network->file()->name(), " by //clients/cli:topology_schema_gen: do not edit.");
  Json definitions = Json::object();
  for (std::vector<const Descriptor*> pending = builder.TakePending(); !pending.empty();
       pending = builder.TakePending()) {
    for (const Descriptor* type : pending)
      definitions[DefinitionName(*type)] = builder.Message(*type);
  }
  schema["definitions"] = definitions;
  try {
    return schema.dump(2) + "\n";
  } catch (const nlohmann::json::exception& e) {  // invalid UTF-8 in a comment
    return absl::InvalidArgumentError(absl::StrCat("cannot print the schema: ", e.what()));
  }
}

}  // namespace clownix::cli
