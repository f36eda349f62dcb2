// CaptureFileReader: the frames of a capture file as its bytes arrive (Switch.Capture's stream),
// for `clownix capture` to print a line per frame. It knows what clownixd writes: pcapng (one
// section; interfaces with if_name; enhanced packet blocks with epb_flags) and classic pcap
// (microsecond or nanosecond magic), in this host's byte order. Other blocks are skipped.
#ifndef CLOWNIX_CLIENTS_CLI_CAPTURE_FILE_READER_H_
#define CLOWNIX_CLIENTS_CLI_CAPTURE_FILE_READER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace clownix::cli {

class CaptureFileReader {
 public:
  struct Frame {
    std::string interface;  // pcapng: the interface's if_name ("" when it has none)
    // pcapng epb_flags direction: 0 not said, 1 inbound (the port sent it), 2 outbound.
    int direction = 0;
    int64_t timestamp_ns = 0;
    uint32_t wire_length = 0;
    std::string data;  // what was captured of it
  };

  // Takes the next bytes and calls `on_frame` for each frame they complete. INVALID_ARGUMENT
  // once the bytes are not a capture file this reader knows; it then takes nothing more.
  absl::Status Feed(absl::string_view bytes, const std::function<void(const Frame&)>& on_frame);

 private:
  enum class Format { kUnknown, kPcapng, kPcap };
  absl::Status ParseBlock(absl::string_view block,
                          const std::function<void(const Frame&)>& on_frame);

  Format format_ = Format::kUnknown;
  bool pcap_nanoseconds_ = false;
  std::string buffer_;
  absl::Status error_;
  struct Interface {
    std::string name;
    int64_t units_per_second = 1'000'000;  // if_tsresol, default microseconds
  };
  std::vector<Interface> interfaces_;
};

}  // namespace clownix::cli

#endif  // CLOWNIX_CLIENTS_CLI_CAPTURE_FILE_READER_H_
