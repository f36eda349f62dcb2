// lab_files: a directory of a lab (`shared/`, `r1/`) read as the files a guest gets, each at its
// path under the directory (r1/etc/frr/frr.conf -> /etc/frr/frr.conf), keeping its permission
// bits; UTF-8 text as text (Windows line ends made Unix ones, as Kathará does), anything else as
// data. Symbolic links and special files are warnings, not copied (a link could point anywhere
// on the host: docs/security.md).
#ifndef CLOWNIX_CLIENTS_CLI_LAB_LAB_FILES_H_
#define CLOWNIX_CLIENTS_CLI_LAB_LAB_FILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/clownix/v1/resources.pb.h"

namespace clownix::cli {

struct TreeFile {
  v1::GuestFile file;  // path in the guest, contents, mode
  std::string origin;  // where it came from, relative to the lab ("r1/etc/frr/frr.conf")
};

// The regular files under `lab_dir`/`sub` (sub: "shared", "r1"), in path order, placed under
// `guest_prefix` ("" for /, "/shared"). Nothing when the directory does not exist. Warnings name
// what was skipped. Errors of reading a file or directory, naming it.
absl::StatusOr<std::vector<TreeFile>> ReadTree(const std::string& lab_dir, const std::string& sub,
                                               const std::string& guest_prefix,
                                               std::vector<std::string>* warnings);

// Whether `bytes` is UTF-8 text with no NUL (it can go into GuestFile.text).
bool IsText(const std::string& bytes);

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_LAB_LAB_FILES_H_
