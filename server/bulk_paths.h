// Where clownixd finds what it runs: the UML kernel, the default root_fs (the built-in image,
// `tiny`, and its image.json), the switch binary and the ptrace XSTATE shim. The defaults are
// built with clownixd (Bazel data deps) and found next to it, in its runfiles tree or in the
// bazel-bin tree; the seed's bulk_dir overrides the kernel (bulk_dir/linux) and the root_fs
// (bulk_dir/root_fs or bulk_dir/rootfs.img), and may hold images (bulk_dir/images/NAME/, see
// image_catalog.h).
#ifndef CLOWNIX_SERVER_BULK_PATHS_H_
#define CLOWNIX_SERVER_BULK_PATHS_H_

#include <string>

#include "absl/status/statusor.h"

namespace clownix::server {

struct BulkPaths {
  std::string kernel;
  std::string root_fs;
  std::string switchcore;
  std::string xstate_fix;
};

// NOT_FOUND naming the missing piece and where it was looked for. A bulk_dir without a root_fs
// is one only when it has no images/ either (then the built-in root_fs is the default).
absl::StatusOr<BulkPaths> FindBulkPaths(const std::string& bulk_dir);

// The built-in image: its image.json, and the file that replaces the one it names (the seed's
// bulk_dir/root_fs or bulk_dir/rootfs.img; "" when none).
struct BuiltinImage {
  std::string manifest;
  std::string root_fs_override;
};
// NOT_FOUND when clownixd was built without the image.json (not by Bazel).
absl::StatusOr<BuiltinImage> FindBuiltinImage(const std::string& bulk_dir);

// The path of a file that Bazel built with clownixd (`relative` to the workspace root, e.g.
// "vmm/rootfs/rootfs.img"), or NOT_FOUND.
absl::StatusOr<std::string> FindBuiltFile(const std::string& relative);

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_BULK_PATHS_H_
