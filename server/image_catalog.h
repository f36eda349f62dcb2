// ImageCatalog: the images VMs boot, by name (Vm.image, Machines.ListImages).
//
// An image is a directory NAME/ holding image.json (image_manifest.proto: a description, the
// root file system's file name, memory defaults, contents) and that file. NAME/ may be a symlink
// to a versioned directory, so that a rebuilt image is swapped in at once; VMs are given the
// real path of the file, so the swap does not change the file under a VM that has it. Images
// come from, in this order, the first of a name winning: each directory of Options::dirs
// (BULK_DIR/images, then --image_dir), then the built-in image (`tiny`, which Bazel builds with
// clownixd; the seed's BULK_DIR/root_fs replaces its file). Entries whose name is not an image
// name ("debian.new", ".tmp") are not images and are skipped, and so are versions: NAME-X/ whose
// image.json names NAME (the build's NAME-RECIPEHASH/, which NAME/ links to). An image whose
// image.json is missing or broken, or whose file is missing, is left out with a problem naming
// the file and the field, logged once and reported by List, and the others still work.
//
// How it stays current: every call stats what the last read found (each directory, its entries,
// their image.json and image files: a few stat calls per image) and reads everything again only
// when something differs. An image built while clownixd runs is there on the next call.
//
// Thread-safe: every method may be called from any thread.
#ifndef CLOWNIX_SERVER_IMAGE_CATALOG_H_
#define CLOWNIX_SERVER_IMAGE_CATALOG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/clownix/v1/resources.pb.h"
#include "server/topology_state.h"

namespace clownix::server {

class ImageCatalog {
 public:
  struct Options {
    // Directories of image directories, searched in this order. A missing one holds no images.
    std::vector<std::string> dirs;
    // The built-in image: its image.json ("" for none) and, when not empty, the file that
    // replaces the root file system the manifest names.
    std::string builtin_manifest;
    std::string builtin_root_fs;
    // What Vm.image means when empty (clownixd --default_image).
    std::string default_image = kBuiltinImage;
  };

  // INVALID_ARGUMENT when default_image is not an image name. A default image that does not
  // exist is fine (it may be built later); Create logs a warning.
  static absl::StatusOr<std::unique_ptr<ImageCatalog>> Create(Options options);

  struct Listing {
    // Sorted by name; is_default set. root_fs is the real path of the image file.
    std::vector<clownix::v1::Image> images;
    // Images left out, one message each naming the file and what is wrong.
    std::vector<std::string> problems;
  };
  Listing List();

  // The image called `name`. INVALID_ARGUMENT for a name that cannot be an image's; NOT_FOUND
  // otherwise, naming the images there are (and, when `name` is a broken image, its problem).
  absl::StatusOr<clownix::v1::Image> Find(const std::string& name);

  const std::string& default_image() const { return options_.default_image; }

 private:
  struct Loaded {
    std::map<std::string, clownix::v1::Image> images;
    // Images left out: (the name they would have, or "", the problem), in the order found.
    std::vector<std::pair<std::string, std::string>> problems;
    // What the read saw: StructureKey() taken before it, and each image file's identity.
    std::string structure;
    std::map<std::string, std::string> root_fs_keys;
  };

  explicit ImageCatalog(Options options) : options_(std::move(options)) {}
  // The identity of the directories, their entries and the manifests: changes with any of them.
  std::string StructureKey() const;
  Loaded Load() const;
  // Brings loaded_ up to date, logging new problems.
  void Refresh() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  absl::Mutex mu_;
  Loaded loaded_ ABSL_GUARDED_BY(mu_);
  bool ever_loaded_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_IMAGE_CATALOG_H_
