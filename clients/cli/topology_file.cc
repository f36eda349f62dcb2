#include "clients/cli/topology_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
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
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    const int error = errno;
    std::string message = absl::StrCat("cannot read ", path, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::InvalidArgumentError(message);
  }
  text << file.rdbuf();
  if (file.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path, ": I/O error"));
  }
  return ParseTopologyJson(text.str(), path);
}

}  // namespace clownix::cli
