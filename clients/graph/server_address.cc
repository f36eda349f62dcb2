#include "clients/graph/server_address.h"

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace clownix::graph {

absl::StatusOr<std::string> ServerTarget(absl::string_view flag, const char* env_server,
                                         const char* env_work_dir) {
  std::string address;
  if (!flag.empty()) {
    address = std::string(flag);
  } else if (env_server != nullptr && *env_server != '\0') {
    address = env_server;
  } else if (env_work_dir != nullptr && *env_work_dir != '\0') {
    absl::string_view dir = env_work_dir;
    while (dir.size() > 1 && absl::ConsumeSuffix(&dir, "/")) {
    }
    address = absl::StrCat("unix:", dir, dir == "/" ? "" : "/", "clownixd.sock");
  } else {
    address = "unix:/tmp/clownix/clownixd.sock";
  }
  if (absl::StartsWith(address, "/")) return absl::StrCat("unix:", address);
  if (absl::StartsWith(address, "unix:") && address.size() > 5) return address;
  size_t colon = address.rfind(':');
  uint32_t port = 0;
  if (!absl::StartsWith(address, "unix:") && colon != std::string::npos && colon > 0 &&
      absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), &port) && port > 0 &&
      port <= 65535) {
    return address;
  }
  return absl::InvalidArgumentError(absl::StrCat("bad server address \"", address,
                                                 "\" (expected unix:PATH, /PATH or HOST:PORT)"));
}

}  // namespace clownix::graph
