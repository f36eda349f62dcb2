// CaptureFileWriter: the bytes of a capture file, pcapng or classic pcap, made block by block as
// frames come, so that a stream of them (Switch.Capture) is a file a reader can follow live.
//
// pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html): a Section Header
// Block first (section length unknown: -1), then an Interface Description Block per captured
// port before its first frame (linktype Ethernet, if_name, if_tsresol 9: nanoseconds, snaplen),
// an Enhanced Packet Block per frame (interface, timestamp, captured and wire lengths, epb_flags
// with the direction), and an Interface Statistics Block per interface at the end. Classic pcap:
// the nanosecond header (magic 0xa1b23c4d, Ethernet) and a record per frame; it has no
// interfaces, directions nor statistics, so it fits one port only. Both in host byte order, as
// their magic numbers tell readers. The two formats share everything but the framing, hence one
// class.
//
// It lives in server/ because only clownixd writes capture files: clients get the finished
// bytes, and the CLI decodes the few fields it prints on its own (clients use only the API).
//
// Not thread-safe: one capture's reader thread owns it.
#ifndef CLOWNIX_SERVER_CAPTURE_FILE_WRITER_H_
#define CLOWNIX_SERVER_CAPTURE_FILE_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/types/span.h"

namespace clownix::server {

class CaptureFileWriter {
 public:
  enum class Format { kPcapng, kPcap };
  enum class Direction { kInbound, kOutbound };

  // Starts the file: its header is the first pending bytes. `snaplen` is 1..65535.
  CaptureFileWriter(Format format, uint32_t snaplen);

  Format format() const { return format_; }

  // Describes the next interface (pcapng) and returns its id (0, 1, ...). Classic pcap has none:
  // nothing is written and the id is 0.
  uint32_t AddInterface(const std::string& name);
  // One frame: `data` is what was kept of it (at most snaplen bytes: more is cut), `wire_length`
  // its whole length, `timestamp_ns` since the Unix epoch. `interface` must have been added.
  void AddFrame(uint32_t interface, int64_t timestamp_ns, Direction direction, uint32_t wire_length,
                absl::Span<const uint8_t> data);
  // pcapng only (classic pcap: nothing): the statistics of `interface` at `timestamp_ns`: frames
  // delivered to the file and, when known, frames lost before they could be (isb_ifdrop).
  void AddStatistics(uint32_t interface, int64_t timestamp_ns, uint64_t delivered,
                     std::optional<uint64_t> dropped);

  // Interfaces added so far.
  uint32_t interface_count() const { return interfaces_; }
  // Bytes made and not taken yet.
  size_t pending() const { return out_.size(); }
  // The pending bytes (whole blocks or records); the writer starts afresh.
  std::string Take();

 private:
  void BeginBlock(uint32_t type);
  void EndBlock();
  void Put32(uint32_t value);
  void Put16(uint16_t value);
  void Put64(uint64_t value);
  void PutBytes(const void* data, size_t size);
  void Pad();
  void PutOption(uint16_t code, const void* data, size_t size);

  const Format format_;
  const uint32_t snaplen_;
  uint32_t interfaces_ = 0;
  size_t block_start_ = 0;
  std::string out_;
};

}  // namespace clownix::server

#endif  // CLOWNIX_SERVER_CAPTURE_FILE_WRITER_H_
