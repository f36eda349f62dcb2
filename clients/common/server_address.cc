#include "clients/common/server_address.h"

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace clownix::clients {

std::string ChooseServerAddress(absl::string_view flag_value, const char* env_server,
                                const char* env_work_dir) {
  if (!flag_value.empty()) return std::string(flag_value);
  if (env_server != nullptr && *env_server != '\0') return env_server;
  if (env_work_dir != nullptr && *env_work_dir != '\0') {
    absl::string_view dir = env_work_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
    return absl::StrCat("unix:", dir, dir == "/" ? "" : "/", "clownixd.sock");
  }
  return kDefaultServerAddress;
}

absl::StatusOr<std::string> ToGrpcTarget(absl::string_view address) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("bad server address \"", address, "\": ", why,
                                                   " (expected unix:PATH or HOST:PORT)"));
  };
  if (absl::StartsWith(address, "unix:")) {
    if (address.size() == 5) return bad("empty socket path");
    return std::string(address);
  }
  if (absl::StartsWith(address, "/")) return absl::StrCat("unix:", address);
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return bad("no port");
  absl::string_view host = address.substr(0, colon);
  absl::string_view port = address.substr(colon + 1);
  uint32_t port_number;
  if (port.empty() || !absl::c_all_of(port, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port, &port_number) || port_number == 0 || port_number > 65535) {
    return bad("port must be 1..65535");
  }
  if (host.empty()) return bad("no host");
  return std::string(address);
}

absl::StatusOr<std::string> ServerTarget(absl::string_view flag_value, const char* env_server,
                                         const char* env_work_dir) {
  return ToGrpcTarget(ChooseServerAddress(flag_value, env_server, env_work_dir));
}

}  // namespace clownix::clients
