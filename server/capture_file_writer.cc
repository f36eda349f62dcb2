#include "server/capture_file_writer.h"

#include <algorithm>
#include <cstring>

namespace clownix::server {
namespace {

constexpr uint32_t kLinktypeEthernet = 1;

// pcapng block types and option codes.
constexpr uint32_t kSectionHeader = 0x0A0D0D0A;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint32_t kInterfaceDescription = 1;
constexpr uint32_t kInterfaceStatistics = 5;
constexpr uint32_t kEnhancedPacket = 6;
constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kShbUserAppl = 4;
constexpr uint16_t kIfName = 2;
constexpr uint16_t kIfTsresol = 9;
constexpr uint16_t kEpbFlags = 2;
constexpr uint16_t kIsbIfdrop = 5;
constexpr uint16_t kIsbUsrdeliv = 8;
// epb_flags bits 0-1: the direction.
constexpr uint32_t kFlagInbound = 1;
constexpr uint32_t kFlagOutbound = 2;

// Classic pcap, nanosecond timestamps.
constexpr uint32_t kPcapNanosecondMagic = 0xa1b23c4d;

}  // namespace

CaptureFileWriter::CaptureFileWriter(Format format, uint32_t snaplen)
    : format_(format), snaplen_(std::clamp<uint32_t>(snaplen, 1, 65535)) {
  if (format_ == Format::kPcap) {
    Put32(kPcapNanosecondMagic);
    Put16(2);  // version 2.4
    Put16(4);
    Put32(0);  // thiszone
    Put32(0);  // sigfigs
    Put32(snaplen_);
    Put32(kLinktypeEthernet);
    return;
  }
  BeginBlock(kSectionHeader);
  Put32(kByteOrderMagic);
  Put16(1);  // version 1.0
  Put16(0);
  Put64(~uint64_t{0});  // section length: not known (a stream)
  constexpr char kApplication[] = "clownix";
  PutOption(kShbUserAppl, kApplication, sizeof(kApplication) - 1);
  PutOption(kOptEnd, nullptr, 0);
  EndBlock();
}

uint32_t CaptureFileWriter::AddInterface(const std::string& name) {
  if (format_ == Format::kPcap) return 0;
  BeginBlock(kInterfaceDescription);
  Put16(kLinktypeEthernet);
  Put16(0);  // reserved
  Put32(snaplen_);
  PutOption(kIfName, name.data(), name.size());
  constexpr uint8_t kNanoseconds = 9;
  PutOption(kIfTsresol, &kNanoseconds, 1);
  PutOption(kOptEnd, nullptr, 0);
  EndBlock();
  return interfaces_++;
}

void CaptureFileWriter::AddFrame(uint32_t interface, int64_t timestamp_ns, Direction direction,
                                 uint32_t wire_length, absl::Span<const uint8_t> data) {
  const uint32_t captured =
      static_cast<uint32_t>(std::min<size_t>({data.size(), snaplen_, wire_length}));
  const uint64_t ts = static_cast<uint64_t>(timestamp_ns);
  if (format_ == Format::kPcap) {
    Put32(static_cast<uint32_t>(ts / 1'000'000'000));
    Put32(static_cast<uint32_t>(ts % 1'000'000'000));
    Put32(captured);
    Put32(wire_length);
    PutBytes(data.data(), captured);
    return;
  }
  BeginBlock(kEnhancedPacket);
  Put32(interface);
  Put32(static_cast<uint32_t>(ts >> 32));
  Put32(static_cast<uint32_t>(ts));
  Put32(captured);
  Put32(wire_length);
  PutBytes(data.data(), captured);
  Pad();
  const uint32_t flags = direction == Direction::kInbound ? kFlagInbound : kFlagOutbound;
  PutOption(kEpbFlags, &flags, sizeof(flags));
  PutOption(kOptEnd, nullptr, 0);
  EndBlock();
}

void CaptureFileWriter::AddStatistics(uint32_t interface, int64_t timestamp_ns, uint64_t delivered,
                                      std::optional<uint64_t> dropped) {
  if (format_ == Format::kPcap) return;
  const uint64_t ts = static_cast<uint64_t>(timestamp_ns);
  BeginBlock(kInterfaceStatistics);
  Put32(interface);
  Put32(static_cast<uint32_t>(ts >> 32));
  Put32(static_cast<uint32_t>(ts));
  if (dropped) PutOption(kIsbIfdrop, &*dropped, sizeof(uint64_t));
  PutOption(kIsbUsrdeliv, &delivered, sizeof(delivered));
  PutOption(kOptEnd, nullptr, 0);
  EndBlock();
}

std::string CaptureFileWriter::Take() {
  std::string taken;
  taken.swap(out_);
  return taken;
}

void CaptureFileWriter::BeginBlock(uint32_t type) {
  block_start_ = out_.size();
  Put32(type);
  Put32(0);  // total length, set by EndBlock
}

void CaptureFileWriter::EndBlock() {
  const uint32_t total = static_cast<uint32_t>(out_.size() - block_start_ + 4);
  std::memcpy(&out_[block_start_ + 4], &total, sizeof(total));
  Put32(total);
}

void CaptureFileWriter::Put16(uint16_t value) { PutBytes(&value, sizeof(value)); }
void CaptureFileWriter::Put32(uint32_t value) { PutBytes(&value, sizeof(value)); }
void CaptureFileWriter::Put64(uint64_t value) { PutBytes(&value, sizeof(value)); }

void CaptureFileWriter::PutBytes(const void* data, size_t size) {
  if (size > 0) out_.append(static_cast<const char*>(data), size);
}

void CaptureFileWriter::Pad() { out_.append((4 - (out_.size() - block_start_) % 4) % 4, '\0'); }

void CaptureFileWriter::PutOption(uint16_t code, const void* data, size_t size) {
  Put16(code);
  Put16(static_cast<uint16_t>(size));
  PutBytes(data, size);
  Pad();
}

}  // namespace clownix::server
