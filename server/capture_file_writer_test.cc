#include "server/capture_file_writer.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A decoder of what the writer makes, written from the format's description, independent of
// the writer's code.
uint16_t Get16(const std::string& s, size_t at) {
  uint16_t v;
  std::memcpy(&v, s.data() + at, 2);
  return v;
}
uint32_t Get32(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
uint64_t Get64(const std::string& s, size_t at) {
  uint64_t v;
  std::memcpy(&v, s.data() + at, 8);
  return v;
}

struct Block {
  uint32_t type = 0;
  std::string body;                              // between the lengths
  std::multimap<uint16_t, std::string> options;  // decoded where the type has them
};

// Options from `at` in `body` to the end (or opt_endofopt).
std::multimap<uint16_t, std::string> Options(const std::string& body, size_t at) {
  std::multimap<uint16_t, std::string> options;
  while (at + 4 <= body.size()) {
    uint16_t code = Get16(body, at);
    uint16_t length = Get16(body, at + 2);
    if (code == 0) break;
    options.emplace(code, body.substr(at + 4, length));
    at += 4 + (length + 3) / 4 * 4;
  }
  return options;
}

std::vector<Block> Blocks(const std::string& file) {
  std::vector<Block> blocks;
  size_t at = 0;
  while (at < file.size()) {
    EXPECT_LE(at + 12, file.size());
    Block block;
    block.type = Get32(file, at);
    uint32_t total = Get32(file, at + 4);
    EXPECT_EQ(total % 4, 0u);
    EXPECT_LE(at + total, file.size());
    EXPECT_EQ(Get32(file, at + total - 4), total) << "trailing length of block at " << at;
    block.body = file.substr(at + 8, total - 12);
    switch (block.type) {
      case 0x0A0D0D0A:
        block.options = Options(block.body, 16);
        break;
      case 1:
        block.options = Options(block.body, 8);
        break;
      case 5:
        block.options = Options(block.body, 12);
        break;
      case 6:
        block.options = Options(block.body, 20 + (Get32(block.body, 12) + 3) / 4 * 4);
        break;
    }
    blocks.push_back(block);
    at += total;
  }
  return blocks;
}

std::vector<uint8_t> Frame(size_t size, uint8_t seed) {
  std::vector<uint8_t> frame(size);
  for (size_t i = 0; i < size; ++i) frame[i] = static_cast<uint8_t>(seed + i);
  // Broadcast destination, a seed-rule source, IPv4 ethertype: something tshark decodes.
  std::memset(frame.data(), 0xff, 6);
  const uint8_t source[6] = {0x02, 0, 0, 1, 0, 1};
  std::memcpy(frame.data() + 6, source, 6);
  frame[12] = 0x08;
  frame[13] = 0x06;  // ARP
  return frame;
}

constexpr int64_t kTime = 1'764'900'000'123'456'789;  // 2025-12-05, ns

std::string PcapngOfTwoPorts() {
  CaptureFileWriter writer(CaptureFileWriter::Format::kPcapng, 65535);
  uint32_t a = writer.AddInterface("vm1.eth1");
  std::vector<uint8_t> f1 = Frame(60, 1), f2 = Frame(98, 2), f3 = Frame(42, 3);
  writer.AddFrame(a, kTime, CaptureFileWriter::Direction::kInbound, 60, f1);
  uint32_t b = writer.AddInterface("tap0");
  writer.AddFrame(b, kTime + 1000, CaptureFileWriter::Direction::kOutbound, 98, f2);
  writer.AddFrame(a, kTime + 2000, CaptureFileWriter::Direction::kInbound, 1500, f3);
  writer.AddStatistics(a, kTime + 3000, 2, 7);
  writer.AddStatistics(b, kTime + 3000, 1, std::nullopt);
  return writer.Take();
}

TEST(CaptureFileWriterTest, PcapngBlocks) {
  std::string file = PcapngOfTwoPorts();
  std::vector<Block> blocks = Blocks(file);
  std::vector<uint32_t> types;
  for (const Block& block : blocks) types.push_back(block.type);
  EXPECT_THAT(types, ElementsAre(0x0A0D0D0A, 1, 6, 1, 6, 6, 5, 5));

  const Block& shb = blocks[0];
  EXPECT_EQ(Get32(shb.body, 0), 0x1A2B3C4Du);
  EXPECT_EQ(Get16(shb.body, 4), 1);
  EXPECT_EQ(Get16(shb.body, 6), 0);
  EXPECT_EQ(Get64(shb.body, 8), ~uint64_t{0});

  const Block& idb = blocks[1];
  EXPECT_EQ(Get16(idb.body, 0), 1);  // Ethernet
  EXPECT_EQ(Get32(idb.body, 4), 65535u);
  EXPECT_EQ(idb.options.find(2)->second, "vm1.eth1");
  EXPECT_EQ(idb.options.find(9)->second, std::string(1, '\x09'));
  EXPECT_EQ(blocks[3].options.find(2)->second, "tap0");

  const Block& epb = blocks[2];
  EXPECT_EQ(Get32(epb.body, 0), 0u);  // interface
  uint64_t ts = (uint64_t{Get32(epb.body, 4)} << 32) | Get32(epb.body, 8);
  EXPECT_EQ(ts, static_cast<uint64_t>(kTime));
  EXPECT_EQ(Get32(epb.body, 12), 60u);
  EXPECT_EQ(Get32(epb.body, 16), 60u);
  std::vector<uint8_t> f1 = Frame(60, 1);
  EXPECT_EQ(epb.body.substr(20, 60), std::string(f1.begin(), f1.end()));
  EXPECT_EQ(Get32(epb.options.find(2)->second, 0), 1u);  // inbound

  const Block& outbound = blocks[4];
  EXPECT_EQ(Get32(outbound.body, 0), 1u);
  EXPECT_EQ(Get32(outbound.options.find(2)->second, 0), 2u);
  // Captured 42 bytes of a 1500-byte frame, padded to 44.
  const Block& cut = blocks[5];
  EXPECT_EQ(Get32(cut.body, 12), 42u);
  EXPECT_EQ(Get32(cut.body, 16), 1500u);

  const Block& isb = blocks[6];
  EXPECT_EQ(Get32(isb.body, 0), 0u);
  EXPECT_EQ(Get64(isb.options.find(5)->second, 0), 7u);  // isb_ifdrop
  EXPECT_EQ(Get64(isb.options.find(8)->second, 0), 2u);  // isb_usrdeliv
  EXPECT_EQ(blocks[7].options.count(5), 0u);             // not known for tap0
}

TEST(CaptureFileWriterTest, FramesLongerThanTheSnaplenAreCut) {
  CaptureFileWriter writer(CaptureFileWriter::Format::kPcapng, 64);
  uint32_t a = writer.AddInterface("a.eth1");
  std::vector<uint8_t> frame = Frame(200, 0);
  writer.AddFrame(a, kTime, CaptureFileWriter::Direction::kInbound, 200, frame);
  std::vector<Block> blocks = Blocks(writer.Take());
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(Get32(blocks[1].body, 4), 64u);
  EXPECT_EQ(Get32(blocks[2].body, 12), 64u);
  EXPECT_EQ(Get32(blocks[2].body, 16), 200u);
}

TEST(CaptureFileWriterTest, TakeHandsOutWholeBlocks) {
  CaptureFileWriter writer(CaptureFileWriter::Format::kPcapng, 65535);
  std::string header = writer.Take();
  EXPECT_EQ(writer.pending(), 0u);
  uint32_t a = writer.AddInterface("a.eth1");
  std::string idb = writer.Take();
  std::vector<uint8_t> frame = Frame(61, 0);
  writer.AddFrame(a, kTime, CaptureFileWriter::Direction::kInbound, 61, frame);
  std::string epb = writer.Take();
  EXPECT_EQ(Blocks(header).size(), 1u);
  EXPECT_EQ(Blocks(idb).size(), 1u);
  EXPECT_EQ(Blocks(epb).size(), 1u);
  EXPECT_EQ(Blocks(header + idb + epb).size(), 3u);
}

TEST(CaptureFileWriterTest, ClassicPcap) {
  CaptureFileWriter writer(CaptureFileWriter::Format::kPcap, 65535);
  EXPECT_EQ(writer.AddInterface("a.eth1"), 0u);
  std::vector<uint8_t> frame = Frame(60, 5);
  writer.AddFrame(0, kTime, CaptureFileWriter::Direction::kOutbound, 60, frame);
  writer.AddStatistics(0, kTime, 1, 0);  // nothing in classic pcap
  std::string file = writer.Take();
  ASSERT_EQ(file.size(), 24u + 16u + 60u);
  EXPECT_EQ(Get32(file, 0), 0xa1b23c4du);
  EXPECT_EQ(Get16(file, 4), 2);
  EXPECT_EQ(Get16(file, 6), 4);
  EXPECT_EQ(Get32(file, 16), 65535u);
  EXPECT_EQ(Get32(file, 20), 1u);
  EXPECT_EQ(Get32(file, 24), static_cast<uint32_t>(kTime / 1'000'000'000));
  EXPECT_EQ(Get32(file, 28), static_cast<uint32_t>(kTime % 1'000'000'000));
  EXPECT_EQ(Get32(file, 32), 60u);
  EXPECT_EQ(Get32(file, 36), 60u);
  EXPECT_EQ(file.substr(40), std::string(frame.begin(), frame.end()));
}

// Debian's tshark (tools/setup.sh installs it) reads what the writer makes.
std::string Tshark(const std::string& contents, const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(tmp ? tmp : "/tmp", "/", name);
  {
    std::ofstream out(path, std::ios::binary);
    out << contents;
  }
  std::string command = absl::StrCat(
      "/usr/bin/tshark -n -r ", path,
      " -T fields -E separator='|' -e frame.interface_name -e frame.packet_flags_direction"
      " -e frame.len -e frame.cap_len -e frame.time_epoch -e eth.src 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  // tshark warns on stderr when run as root.
  std::string frames;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "Running as user")) absl::StrAppend(&frames, line, "\n");
  }
  return frames;
}

TEST(CaptureFileWriterTest, TsharkReadsPcapng) {
  ASSERT_EQ(access("/usr/bin/tshark", X_OK), 0) << "tshark is missing: run tools/setup.sh";
  std::string output = Tshark(PcapngOfTwoPorts(), "two_ports.pcapng");
  std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << output;
  EXPECT_THAT(lines[0],
              HasSubstr("vm1.eth1|0x00000001|60|60|1764900000.123456789|02:00:00:01:00:01"));
  EXPECT_THAT(lines[1], HasSubstr("tap0|0x00000002|98|98|1764900000.123457789"));
  EXPECT_THAT(lines[2], HasSubstr("vm1.eth1|0x00000001|1500|42|"));
}

TEST(CaptureFileWriterTest, TsharkReadsClassicPcap) {
  ASSERT_EQ(access("/usr/bin/tshark", X_OK), 0) << "tshark is missing: run tools/setup.sh";
  CaptureFileWriter writer(CaptureFileWriter::Format::kPcap, 65535);
  std::vector<uint8_t> frame = Frame(60, 5);
  writer.AddFrame(0, kTime, CaptureFileWriter::Direction::kOutbound, 60, frame);
  std::string output = Tshark(writer.Take(), "one.pcap");
  std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u) << output;
  EXPECT_THAT(lines[0], HasSubstr("|60|60|1764900000.123456789|02:00:00:01:00:01"));
}

}  // namespace
}  // namespace clownix::server
