// lab_images: the one table from the image names Kathará and Netkit labs give (`image` in
// lab.conf, Kathará's `kathara/...` images) to the clownix images VMs boot. docs/labs.md shows
// the same table.
#ifndef CLOWNIX_CLIENTS_CLI_LAB_LAB_IMAGES_H_
#define CLOWNIX_CLIENTS_CLI_LAB_LAB_IMAGES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace clownix::cli {

struct LabImage {
  std::string image;  // the clownix image ("debian")
  // What the lab may miss on it; empty when the clownix image has what the lab image had for
  // networking labs. A lab using an image with a note gets the note as a warning.
  std::string note;
  // False for a name the table does not know: `image` is then the fallback ("debian").
  bool known = true;
};

// The image labs get when lab.conf names none (Kathará's default is kathara/base).
inline constexpr char kDefaultLabImage[] = "kathara/base";

// Maps a lab's image name ("kathara/frr", "kathara/frr:latest", "docker.io/kathara/quagga") to a
// clownix image. Unknown names map to "debian" with known = false.
LabImage MapLabImage(absl::string_view lab_image);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LAB_LAB_IMAGES_H_
