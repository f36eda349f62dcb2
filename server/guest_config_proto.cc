#include "server/guest_config_proto.h"

#include <algorithm>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace clownix::server {
namespace {

absl::StatusOr<common::GuestConfig> Convert(const clownix::v1::GuestConfig& guest) {
  common::GuestConfig config;
  for (int i = 0; i < guest.files_size(); ++i) {
    const clownix::v1::GuestFile& file = guest.files(i);
    common::GuestFile out;
    out.path = file.path();
    out.contents = file.body_case() == clownix::v1::GuestFile::kData ? file.data() : file.text();
    if (!file.mode().empty()) {
      absl::StatusOr<uint32_t> mode =
          common::ParseFileMode(absl::StrCat("files[", i, "].mode"), file.mode());
      if (!mode.ok()) return mode.status();
      out.mode = *mode;
    }
    config.files.push_back(std::move(out));
  }
  config.sysctls.assign(guest.sysctls().begin(), guest.sysctls().end());
  std::sort(config.sysctls.begin(), config.sysctls.end());  // a proto map has no order
  for (const clownix::v1::NicAddress& address : guest.addresses()) {
    config.addresses.push_back({static_cast<int>(address.nic()), address.cidr()});
  }
  config.startup = guest.startup();
  config.shutdown = guest.shutdown();
  return config;
}

}  // namespace

absl::StatusOr<common::GuestConfig> GuestConfigOf(const clownix::v1::Vm& vm) {
  absl::StatusOr<common::GuestConfig> config = Convert(vm.guest());
  absl::Status status = config.status();
  if (status.ok()) {
    status = common::ValidateGuestConfig(*config, static_cast<int>(vm.nic_count()), vm.admin());
  }
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("vm \"", absl::CHexEscape(vm.name()), "\": guest.", status.message()));
  }
  return config;
}

}  // namespace clownix::server
