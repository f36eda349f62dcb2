// DotRenderer: turns DOT text into files with Graphviz's `dot`, run as a child process (fork and
// exec, no shell) under a timeout. Every file is written to a temporary name in the output
// directory and renamed into place, so a viewer (or a browser reloading the SVG) never sees a
// half-written file.
#ifndef CLOWNIX_CLIENTS_GRAPH_DOT_RENDERER_H_
#define CLOWNIX_CLIENTS_GRAPH_DOT_RENDERER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace clownix::graph {

class DotRenderer {
 public:
  struct Options {
    // The directory written; created (with its parents) if missing.
    std::string out_dir = ".";
    // Files are out_dir/<basename>.dot and out_dir/<basename>.<format>.
    std::string basename = "topology";
    // Output formats of `dot -T`: svg, png, pdf, ... at least one.
    std::vector<std::string> formats = {"svg"};
    // `dot` to run: a path, or a name looked up in $PATH.
    std::string dot = "dot";
    // How long one `dot` run may take before it is killed.
    absl::Duration timeout = absl::Seconds(30);
  };

  // FAILED_PRECONDITION when `dot` cannot be found or run (saying to install graphviz) or out_dir
  // cannot be created; INVALID_ARGUMENT for an empty or odd format list.
  static absl::StatusOr<std::unique_ptr<DotRenderer>> Create(Options options);

  // Writes the .dot file and one file per format, all or none: when `dot` fails (its stderr is in
  // the message), times out (DEADLINE_EXCEEDED) or a write fails, the previous files stay as they
  // were. Thread-compatible: calls must not overlap.
  absl::Status Render(absl::string_view dot_text) const;

  // The path of the file of `format` ("dot" for the DOT text).
  std::string PathOf(absl::string_view format) const;
  // The file of the first format: the picture a user opens.
  std::string MainPath() const { return PathOf(options_.formats.front()); }
  // The `dot` binary found by Create.
  const std::string& dot_path() const { return dot_path_; }

 private:
  DotRenderer(Options options, std::string dot_path)
      : options_(std::move(options)), dot_path_(std::move(dot_path)) {}

  // Runs dot_path_ with `args`; OK when it exits 0 within the timeout.
  absl::Status RunDot(const std::vector<std::string>& args) const;

  Options options_;
  std::string dot_path_;
};

}  // namespace clownix::graph

#endif  // CLOWNIX_CLIENTS_GRAPH_DOT_RENDERER_H_
