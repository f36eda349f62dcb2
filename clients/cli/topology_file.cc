#include "clients/cli/topology_file.h"

#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/file_io.h"
#include "google/protobuf/util/json_util.h"

namespace clownix::cli {

absl::StatusOr<v1::Network> ParseTopologyJson(absl::string_view text, absl::string_view source) {
  if (absl::StripAsciiWhitespace(text).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": empty topology file"));
  }
  v1::Network network;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &network, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": not a clownix.v1.Network in JSON: ", std::string(status.message())));
  }
  return network;
}

absl::StatusOr<v1::Network> ReadTopologyFile(const std::string& path) {
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return ParseTopologyJson(text.str(), "<stdin>");
  }
  absl::StatusOr<std::string> file = common::ReadFile(path);
  if (!file.ok()) {
    return absl::Status(file.status().code(),
                        absl::StrCat("cannot read the topology file: ", file.status().message()));
  }
  return ParseTopologyJson(*file, path);
}

}  // namespace clownix::cli
