#include "clients/cli/lab/lab_images.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace clownix::cli {
namespace {

struct Entry {
  const char* lab_image;
  const char* image;
  const char* note;
};

// Every Kathará image runs on the debian image (FRR, iproute2, tcpdump, iptables, dnsmasq, nginx,
// isc-dhcp, radvd: docs/images.md); `tiny` has no routing software, so no lab image maps to it.
constexpr Entry kImages[] = {
    {"kathara/base", "debian", ""},
    {"kathara/frr", "debian", ""},
    {"kathara/quagga", "debian",
     "Quagga runs as FRR: /etc/quagga is translated (docs/labs.md, Quagga labs)"},
    {"kathara/bind", "debian",
     "the debian image has no BIND (named): it has dnsmasq and kdig (as dig)"},
    {"kathara/sdn", "debian", "the debian image has no Open vSwitch nor Ryu"},
    {"kathara/p4", "debian", "the debian image has no P4 switch (bmv2)"},
    {"kathara/openbgpd", "debian", "the debian image has no OpenBGPD: use FRR's bgpd"},
    {"kathara/bird", "debian", "the debian image has no BIRD: use FRR"},
    {"kathara/scion", "debian", "the debian image has no SCION"},
    {"kathara/pmacct", "debian", "the debian image has no pmacct"},
    {"kathara/nika", "debian", ""},
    {"debian", "debian", ""},
    {"tiny", "tiny", ""},
};

}  // namespace

LabImage MapLabImage(absl::string_view lab_image) {
  absl::string_view name = lab_image;
  // A tag or digest does not choose another clownix image.
  if (size_t at = name.find('@'); at != absl::string_view::npos) name = name.substr(0, at);
  if (size_t colon = name.rfind(':');
      colon != absl::string_view::npos && name.find('/', colon) == absl::string_view::npos) {
    name = name.substr(0, colon);
  }
  absl::ConsumePrefix(&name, "docker.io/");
  for (const Entry& entry : kImages) {
    if (name == entry.lab_image) return LabImage{entry.image, entry.note, true};
  }
  return LabImage{"debian", "", false};
}

}  // namespace clownix::cli
