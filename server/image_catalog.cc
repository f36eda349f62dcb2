#include "server/image_catalog.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_io.h"
#include "common/seed_rules.h"
#include "google/protobuf/util/json_util.h"
#include "server/image_manifest.pb.h"
#include "server/log.h"

namespace clownix::server {
namespace {

constexpr char kManifestFile[] = "image.json";
constexpr size_t kMaxManifestBytes = 1 << 20;

// What identifies a version of a file or directory: a change of content through rename, a
// rewrite in place or a swapped symlink each change one of these. "-" when it does not exist.
std::string StatKey(const struct stat& st) {
  return absl::StrCat(st.st_dev, ":", st.st_ino, ":", st.st_size, ":", st.st_mtim.tv_sec, ".",
                      st.st_mtim.tv_nsec, ":", st.st_ctim.tv_sec, ".", st.st_ctim.tv_nsec);
}
std::string StatKey(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? StatKey(st) : "-";
}
std::string LstatKey(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? StatKey(st) : "-";
}

// The entries of `dir` that may be images (their name is an image name), sorted. A missing
// directory has none.
absl::StatusOr<std::vector<std::string>> ImageEntries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return std::vector<std::string>();
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot read the image directory ", dir));
  }
  std::vector<std::string> names;
  while (struct dirent* entry = readdir(d)) {
    if (common::ValidateName("image", entry->d_name).ok()) names.push_back(entry->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status Problem(const std::string& file, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": ", what));
}

// Reads the image whose manifest is `manifest_path`. `root_fs_override`: a file that replaces the
// one the manifest names. The error names the file and the field.
absl::StatusOr<clownix::v1::Image> LoadImage(const std::string& manifest_path,
                                             const std::string& root_fs_override,
                                             std::string* root_fs_key) {
  absl::StatusOr<std::string> text = common::ReadFile(manifest_path, kMaxManifestBytes);
  if (!text.ok()) {
    if (text.status().code() == absl::StatusCode::kNotFound) {
      return Problem(manifest_path, "missing (an image directory holds image.json and the image)");
    }
    return absl::InvalidArgumentError(text.status().message());
  }
  ImageManifest manifest;
  google::protobuf::util::JsonParseOptions parse_options;
  parse_options.ignore_unknown_fields = true;
  if (auto s = google::protobuf::util::JsonStringToMessage(*text, &manifest, parse_options);
      !s.ok()) {
    return Problem(manifest_path,
                   absl::StrCat("not an image manifest (server/image_manifest.proto): ",
                                std::string(s.message())));
  }
  const std::pair<const char*, bool> required[] = {
      {"name", manifest.has_name()},
      {"description", manifest.has_description()},
      {"root_fs", manifest.has_root_fs()},
      {"default_mem_mib", manifest.has_default_mem_mib()},
      {"min_mem_mib", manifest.has_min_mem_mib()},
      {"recipe_hash", manifest.has_recipe_hash()},
  };
  for (const auto& [field, present] : required) {
    if (!present) return Problem(manifest_path, absl::StrCat("field \"", field, "\" is missing"));
  }
  if (absl::Status s = common::ValidateName("image", manifest.name()); !s.ok()) {
    return Problem(manifest_path, absl::StrCat("field \"name\": ", s.message()));
  }
  const std::string& file = manifest.root_fs();
  std::vector<absl::string_view> parts = absl::StrSplit(file, '/');
  if (file.empty() || file[0] == '/' ||
      std::find(parts.begin(), parts.end(), "..") != parts.end()) {
    return Problem(manifest_path, absl::StrCat("field \"root_fs\" is \"", file,
                                               "\": give a file in the image directory"));
  }
  for (const auto& [field, value] : {std::make_pair("default_mem_mib", manifest.default_mem_mib()),
                                     std::make_pair("min_mem_mib", manifest.min_mem_mib())}) {
    if (static_cast<int64_t>(value) < common::kMinMemMib ||
        static_cast<int64_t>(value) > common::kMaxMemMib) {
      return Problem(manifest_path,
                     absl::StrCat("field \"", field, "\" ", value, " is out of range ",
                                  common::kMinMemMib, "..", common::kMaxMemMib));
    }
  }
  if (manifest.min_mem_mib() > manifest.default_mem_mib()) {
    return Problem(manifest_path, absl::StrCat("field \"min_mem_mib\" ", manifest.min_mem_mib(),
                                               " is above field \"default_mem_mib\" ",
                                               manifest.default_mem_mib()));
  }

  std::string root_fs = root_fs_override;
  if (root_fs.empty()) {
    root_fs = absl::StrCat(manifest_path.substr(0, manifest_path.rfind('/') + 1), file);
  }
  // The real path: VMs keep the file they were given when a symlinked image is swapped.
  char* real = realpath(root_fs.c_str(), nullptr);
  if (real == nullptr) {
    return Problem(manifest_path, absl::StrCat("field \"root_fs\": ",
                                               absl::ErrnoToStatus(errno, root_fs).message()));
  }
  std::string real_path = real;
  free(real);
  struct stat st;
  if (stat(real_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Problem(manifest_path,
                   absl::StrCat("field \"root_fs\": ", real_path, " is not a regular file"));
  }
  *root_fs_key = StatKey(st);

  clownix::v1::Image image;
  image.set_name(manifest.name());
  image.set_description(manifest.description());
  image.set_size_bytes(static_cast<uint64_t>(st.st_size));
  image.set_allocated_bytes(static_cast<uint64_t>(st.st_blocks) * 512);
  image.set_default_mem_mib(manifest.default_mem_mib());
  image.set_min_mem_mib(manifest.min_mem_mib());
  *image.mutable_contents() = manifest.contents();
  image.set_recipe_hash(manifest.recipe_hash());
  image.set_build_seconds(manifest.build_seconds());
  image.set_root_fs(real_path);
  return image;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ImageCatalog>> ImageCatalog::Create(Options options) {
  if (absl::Status s = common::ValidateName("image", options.default_image); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("default image: ", s.message()));
  }
  std::unique_ptr<ImageCatalog> catalog(new ImageCatalog(std::move(options)));
  Listing listing = catalog->List();
  std::vector<std::string> names;
  for (const clownix::v1::Image& image : listing.images) names.push_back(image.name());
  Log(LogLevel::kInfo, absl::StrCat("images: ", names.empty() ? "none" : absl::StrJoin(names, ", "),
                                    " (default ", catalog->default_image(), ")"));
  if (std::find(names.begin(), names.end(), catalog->default_image()) == names.end()) {
    Log(LogLevel::kWarning,
        absl::StrCat("the default image \"", catalog->default_image(),
                     "\" does not exist (yet): VMs created without an image fail until it does"));
  }
  return catalog;
}

std::string ImageCatalog::StructureKey() const {
  std::string key;
  for (const std::string& dir : options_.dirs) {
    absl::StrAppend(&key, dir, "=", StatKey(dir), ";");
    absl::StatusOr<std::vector<std::string>> names = ImageEntries(dir);
    if (!names.ok()) continue;  // Load reports it
    for (const std::string& name : *names) {
      std::string path = absl::StrCat(dir, "/", name);
      absl::StrAppend(&key, name, "=", LstatKey(path), "/", StatKey(path), "/",
                      StatKey(absl::StrCat(path, "/", kManifestFile)), ";");
    }
  }
  if (!options_.builtin_manifest.empty()) {
    absl::StrAppend(&key, "builtin=", StatKey(options_.builtin_manifest), "/",
                    options_.builtin_root_fs.empty() ? "" : StatKey(options_.builtin_root_fs));
  }
  return key;
}

ImageCatalog::Loaded ImageCatalog::Load() const {
  Loaded loaded;
  auto add = [&loaded](const std::string& name, absl::StatusOr<clownix::v1::Image> image,
                       std::string root_fs_key) {
    if (!image.ok()) {
      loaded.problems.emplace_back(name, std::string(image.status().message()));
      return;
    }
    loaded.root_fs_keys[image->root_fs()] = std::move(root_fs_key);
    loaded.images.emplace(image->name(), *std::move(image));
  };
  for (const std::string& dir : options_.dirs) {
    absl::StatusOr<std::vector<std::string>> names = ImageEntries(dir);
    if (!names.ok()) {
      loaded.problems.emplace_back("", std::string(names.status().message()));
      continue;
    }
    for (const std::string& name : *names) {
      if (loaded.images.count(name)) continue;  // an earlier directory has it
      std::string manifest = absl::StrCat(dir, "/", name, "/", kManifestFile);
      std::string key;
      absl::StatusOr<clownix::v1::Image> image = LoadImage(manifest, "", &key);
      if (image.ok() && image->name() != name) {
        // NAME-RECIPEHASH/, a version of NAME that NAME/ links to (or did): not an image itself.
        if (absl::StartsWith(name, image->name() + "-")) continue;
        image = Problem(manifest, absl::StrCat("field \"name\" is \"", image->name(),
                                               "\" but the directory is \"", name, "\""));
      }
      add(name, std::move(image), std::move(key));
    }
  }
  if (!options_.builtin_manifest.empty()) {
    std::string key;
    absl::StatusOr<clownix::v1::Image> image =
        LoadImage(options_.builtin_manifest, options_.builtin_root_fs, &key);
    if (!image.ok() || !loaded.images.count(image->name())) {
      add(image.ok() ? image->name() : kBuiltinImage, std::move(image), std::move(key));
    }
  }
  return loaded;
}

void ImageCatalog::Refresh() {
  std::string structure = StructureKey();
  if (ever_loaded_ && structure == loaded_.structure) {
    bool same = true;
    for (const auto& [path, key] : loaded_.root_fs_keys) same = same && StatKey(path) == key;
    if (same) return;
  }
  // The key is taken before reading: whatever changes during the read shows on the next call.
  Loaded next = Load();
  next.structure = std::move(structure);
  std::set<std::string> known;
  for (const auto& [name, problem] : loaded_.problems) known.insert(problem);
  for (const auto& [name, problem] : next.problems) {
    if (!known.count(problem)) Log(LogLevel::kWarning, absl::StrCat("image left out: ", problem));
  }
  loaded_ = std::move(next);
  ever_loaded_ = true;
}

ImageCatalog::Listing ImageCatalog::List() {
  absl::MutexLock lock(&mu_);
  Refresh();
  Listing listing;
  for (const auto& [name, image] : loaded_.images) {
    listing.images.push_back(image);
    listing.images.back().set_is_default(name == options_.default_image);
  }
  for (const auto& [name, problem] : loaded_.problems) listing.problems.push_back(problem);
  return listing;
}

absl::StatusOr<clownix::v1::Image> ImageCatalog::Find(const std::string& name) {
  if (absl::Status s = common::ValidateName("image", name); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Refresh();
  auto it = loaded_.images.find(name);
  if (it != loaded_.images.end()) {
    clownix::v1::Image image = it->second;
    image.set_is_default(name == options_.default_image);
    return image;
  }
  std::vector<std::string> names;
  for (const auto& [existing, image] : loaded_.images) names.push_back(existing);
  std::string there = names.empty() ? "there are no images (clownixd's log and ListImages say why)"
                                    : absl::StrCat("the images are: ", absl::StrJoin(names, ", "));
  for (const auto& [broken, problem] : loaded_.problems) {
    if (broken == name) {
      return absl::NotFoundError(
          absl::StrCat("image \"", name, "\" is broken (", problem, "); ", there));
    }
  }
  return absl::NotFoundError(absl::StrCat("image \"", name, "\" does not exist; ", there));
}

}  // namespace clownix::server
