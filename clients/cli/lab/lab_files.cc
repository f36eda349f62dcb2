#include "clients/cli/lab/lab_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/file_io.h"

namespace clownix::cli {

bool IsText(const std::string& bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const unsigned char c = bytes[i];
    if (c == 0) return false;
    int more = 0;
    if (c < 0x80) {
      more = 0;
    } else if ((c & 0xe0) == 0xc0 && c >= 0xc2) {
      more = 1;
    } else if ((c & 0xf0) == 0xe0) {
      more = 2;
    } else if ((c & 0xf8) == 0xf0 && c <= 0xf4) {
      more = 3;
    } else {
      return false;
    }
    if (i + more >= bytes.size()) return false;
    for (int k = 1; k <= more; ++k) {
      if ((static_cast<unsigned char>(bytes[i + k]) & 0xc0) != 0x80) return false;
    }
    i += more + 1;
  }
  return true;
}

absl::StatusOr<std::vector<TreeFile>> ReadTree(const std::string& lab_dir, const std::string& sub,
                                               const std::string& guest_prefix,
                                               std::vector<std::string>* warnings) {
  namespace fs = std::filesystem;
  std::vector<TreeFile> files;
  const fs::path root = fs::path(lab_dir) / sub;
  std::error_code error;
  if (!fs::is_directory(fs::symlink_status(root, error))) return files;
  fs::recursive_directory_iterator it(root, error);
  if (error) {
    return absl::ErrnoToStatus(error.value(), absl::StrCat("reading directory ", root.string()));
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) {
      return absl::ErrnoToStatus(error.value(), absl::StrCat("reading directory ", root.string()));
    }
    const fs::path& path = it->path();
    const std::string relative = fs::relative(path, fs::path(lab_dir)).string();
    struct stat info;
    if (lstat(path.c_str(), &info) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("stat ", path.string()));
    }
    if (S_ISDIR(info.st_mode)) continue;
    if (S_ISLNK(info.st_mode)) {
      warnings->push_back(absl::StrCat(relative,
                                       ": a symbolic link: not copied into the guest (make it a "
                                       "file, or create the link in the startup script)"));
      continue;
    }
    if (!S_ISREG(info.st_mode)) {
      warnings->push_back(absl::StrCat(relative, ": not a regular file: not copied"));
      continue;
    }
    absl::StatusOr<std::string> contents = common::ReadFile(path.string());
    if (!contents.ok()) return contents.status();
    TreeFile tree_file;
    tree_file.origin = relative;
    tree_file.file.set_path(
        absl::StrCat(guest_prefix, "/", fs::relative(path, root).generic_string()));
    tree_file.file.set_mode(absl::StrFormat("%04o", info.st_mode & 07777));
    if (IsText(*contents)) {
      tree_file.file.set_text(absl::StrReplaceAll(*contents, {{"\r\n", "\n"}}));
    } else {
      tree_file.file.set_data(*std::move(contents));
    }
    files.push_back(std::move(tree_file));
  }
  std::sort(files.begin(), files.end(),
            [](const TreeFile& a, const TreeFile& b) { return a.file.path() < b.file.path(); });
  return files;
}

}  // namespace clownix::cli
