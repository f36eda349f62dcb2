#include "server/bulk_paths.h"

#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace clownix::server {
namespace {

std::string SelfExe() {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "";
  return std::string(path, n);
}

bool Exists(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

// The seed's root_fs in `bulk_dir`, or "".
std::string SeedRootFs(const std::string& bulk_dir) {
  if (bulk_dir.empty()) return "";
  for (const char* name : {"root_fs", "rootfs.img"}) {
    std::string path = absl::StrCat(bulk_dir, "/", name);
    if (Exists(path)) return path;
  }
  return "";
}

}  // namespace

absl::StatusOr<std::string> FindBuiltFile(const std::string& relative) {
  std::vector<std::string> candidates;
  std::string exe = SelfExe();
  for (const char* env : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* dir = getenv(env))
      candidates.push_back(absl::StrCat(dir, "/clownix/", relative));
  }
  if (!exe.empty()) {
    candidates.push_back(absl::StrCat(exe, ".runfiles/clownix/", relative));
    // bazel-bin/server/clownixd -> bazel-bin/<relative>
    std::string bin = exe.substr(0, exe.rfind('/'));
    bin = bin.substr(0, bin.rfind('/'));
    candidates.push_back(absl::StrCat(bin, "/", relative));
  }
  for (const std::string& candidate : candidates) {
    if (Exists(candidate)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(relative, " not found (looked in ",
                                          absl::StrJoin(candidates, ", "),
                                          "); build clownixd with Bazel"));
}

absl::StatusOr<BulkPaths> FindBulkPaths(const std::string& bulk_dir) {
  BulkPaths paths;
  paths.kernel = "/usr/bin/linux.uml";
  if (!bulk_dir.empty()) {
    if (Exists(bulk_dir + "/linux")) paths.kernel = bulk_dir + "/linux";
    paths.root_fs = SeedRootFs(bulk_dir);
    if (paths.root_fs.empty() && !Exists(bulk_dir + "/images")) {
      return absl::NotFoundError(
          absl::StrCat("bulk dir ", bulk_dir, " has no root_fs (nor rootfs.img, nor images/)"));
    }
  }
  if (paths.root_fs.empty()) {
    absl::StatusOr<std::string> root_fs = FindBuiltFile("vmm/rootfs/rootfs.img");
    if (!root_fs.ok()) return root_fs.status();
    paths.root_fs = *root_fs;
  }
  if (!Exists(paths.kernel)) {
    return absl::NotFoundError(
        absl::StrCat("UML kernel ", paths.kernel, " not found (install user-mode-linux)"));
  }
  absl::StatusOr<std::string> switchcore = FindBuiltFile("switchcore/clownix-switchcore");
  if (!switchcore.ok()) return switchcore.status();
  paths.switchcore = *switchcore;
  absl::StatusOr<std::string> xstate = FindBuiltFile("vmm/xstate/libuml_xstate_fix.so");
  if (!xstate.ok()) return xstate.status();
  paths.xstate_fix = *xstate;
  return paths;
}

absl::StatusOr<BuiltinImage> FindBuiltinImage(const std::string& bulk_dir) {
  absl::StatusOr<std::string> manifest = FindBuiltFile("vmm/rootfs/image.json");
  if (!manifest.ok()) return manifest.status();
  return BuiltinImage{*manifest, SeedRootFs(bulk_dir)};
}

}  // namespace clownix::server
