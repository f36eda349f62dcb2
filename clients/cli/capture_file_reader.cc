#include "clients/cli/capture_file_reader.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace clownix::cli {
namespace {

constexpr uint32_t kSectionHeader = 0x0A0D0D0A;
constexpr uint32_t kInterfaceDescription = 1;
constexpr uint32_t kEnhancedPacket = 6;
constexpr uint32_t kPcapMicroseconds = 0xa1b2c3d4;
constexpr uint32_t kPcapNanoseconds = 0xa1b23c4d;
constexpr size_t kMaxBlock = 16 << 20;

uint32_t Get32(absl::string_view s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
uint16_t Get16(absl::string_view s, size_t at) {
  uint16_t v;
  std::memcpy(&v, s.data() + at, 2);
  return v;
}

// Calls on_option(code, value) for the options from `at` to the end of `body`.
void ForEachOption(absl::string_view body, size_t at,
                   const std::function<void(uint16_t, absl::string_view)>& on_option) {
  while (at + 4 <= body.size()) {
    uint16_t code = Get16(body, at);
    uint16_t length = Get16(body, at + 2);
    if (code == 0 || at + 4 + length > body.size()) return;
    on_option(code, body.substr(at + 4, length));
    at += 4 + (length + 3u) / 4 * 4;
  }
}

}  // namespace

absl::Status CaptureFileReader::Feed(absl::string_view bytes,
                                     const std::function<void(const Frame&)>& on_frame) {
  if (!error_.ok()) return error_;
  buffer_.append(bytes.data(), bytes.size());
  size_t at = 0;
  if (format_ == Format::kUnknown && buffer_.size() >= 4) {
    uint32_t magic = Get32(buffer_, 0);
    if (magic == kSectionHeader) {
      format_ = Format::kPcapng;
    } else if (magic == kPcapMicroseconds || magic == kPcapNanoseconds) {
      if (buffer_.size() < 24) return absl::OkStatus();
      format_ = Format::kPcap;
      pcap_nanoseconds_ = magic == kPcapNanoseconds;
      at = 24;
    } else {
      error_ = absl::InvalidArgumentError("the stream is not a pcap or pcapng file");
      return error_;
    }
  }
  while (format_ == Format::kPcapng && buffer_.size() - at >= 12) {
    uint32_t total = Get32(buffer_, at + 4);
    if (total < 12 || total % 4 != 0 || total > kMaxBlock) {
      error_ = absl::InvalidArgumentError(absl::StrCat("bad pcapng block length ", total));
      return error_;
    }
    if (buffer_.size() - at < total) break;
    if (absl::Status s = ParseBlock(absl::string_view(buffer_).substr(at, total), on_frame);
        !s.ok()) {
      error_ = s;
      return error_;
    }
    at += total;
  }
  while (format_ == Format::kPcap && buffer_.size() - at >= 16) {
    uint32_t captured = Get32(buffer_, at + 8);
    if (captured > kMaxBlock) {
      error_ = absl::InvalidArgumentError(absl::StrCat("bad pcap record length ", captured));
      return error_;
    }
    if (buffer_.size() - at < 16 + captured) break;
    Frame frame;
    int64_t fraction = Get32(buffer_, at + 4);
    frame.timestamp_ns = int64_t{Get32(buffer_, at)} * 1'000'000'000 +
                         (pcap_nanoseconds_ ? fraction : fraction * 1000);
    frame.wire_length = Get32(buffer_, at + 12);
    frame.data = buffer_.substr(at + 16, captured);
    on_frame(frame);
    at += 16 + captured;
  }
  buffer_.erase(0, at);
  return absl::OkStatus();
}

absl::Status CaptureFileReader::ParseBlock(absl::string_view block,
                                           const std::function<void(const Frame&)>& on_frame) {
  const uint32_t type = Get32(block, 0);
  absl::string_view body = block.substr(8, block.size() - 12);
  if (type == kSectionHeader) {
    if (body.size() < 16 || Get32(body, 0) != 0x1A2B3C4D) {
      return absl::InvalidArgumentError("pcapng section in another byte order");
    }
    interfaces_.clear();
  } else if (type == kInterfaceDescription && body.size() >= 8) {
    Interface interface;
    ForEachOption(body, 8, [&](uint16_t code, absl::string_view value) {
      if (code == 2) interface.name = std::string(value);
      if (code == 9 && value.size() == 1) {
        uint8_t resolution = static_cast<uint8_t>(value[0]);
        int64_t units = 1;
        for (int i = 0; i < (resolution & 0x7f) && i < 18; ++i)
          units *= (resolution & 0x80) ? 2 : 10;
        interface.units_per_second = units;
      }
    });
    interfaces_.push_back(interface);
  } else if (type == kEnhancedPacket && body.size() >= 20) {
    uint32_t id = Get32(body, 0);
    uint32_t captured = Get32(body, 12);
    if (id >= interfaces_.size() || 20 + captured > body.size()) {
      return absl::InvalidArgumentError("pcapng packet of an unknown interface, or cut");
    }
    const Interface& interface = interfaces_[id];
    Frame frame;
    frame.interface = interface.name;
    uint64_t ticks = (uint64_t{Get32(body, 4)} << 32) | Get32(body, 8);
    frame.timestamp_ns = static_cast<int64_t>(ticks / interface.units_per_second * 1'000'000'000 +
                                              ticks % interface.units_per_second * 1'000'000'000 /
                                                  interface.units_per_second);
    frame.wire_length = Get32(body, 16);
    frame.data = std::string(body.substr(20, captured));
    ForEachOption(body, 20 + (captured + 3u) / 4 * 4, [&](uint16_t code, absl::string_view value) {
      if (code == 2 && value.size() == 4) frame.direction = Get32(value, 0) & 3;
    });
    on_frame(frame);
  }
  return absl::OkStatus();
}

}  // namespace clownix::cli
