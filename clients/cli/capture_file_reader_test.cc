#include "clients/cli/capture_file_reader.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "clients/cli/frame_summary.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

// A pcapng file made by hand, as clownixd writes one.
void Put32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
void Put16(std::string& s, uint16_t v) { s.append(reinterpret_cast<const char*>(&v), 2); }
void Pad(std::string& s) { s.append((4 - s.size() % 4) % 4, '\0'); }
void Option(std::string& s, uint16_t code, const std::string& value) {
  Put16(s, code);
  Put16(s, static_cast<uint16_t>(value.size()));
  s += value;
  Pad(s);
}
std::string Block(uint32_t type, std::string body) {
  std::string block;
  Put32(block, type);
  Put32(block, static_cast<uint32_t>(body.size() + 12));
  block += body;
  Put32(block, static_cast<uint32_t>(body.size() + 12));
  return block;
}
std::string Shb() {
  std::string body;
  Put32(body, 0x1A2B3C4D);
  Put16(body, 1);
  Put16(body, 0);
  Put32(body, 0xffffffff);
  Put32(body, 0xffffffff);
  return Block(0x0A0D0D0A, body);
}
std::string Idb(const std::string& name) {
  std::string body;
  Put16(body, 1);
  Put16(body, 0);
  Put32(body, 65535);
  Option(body, 2, name);
  Option(body, 9, std::string(1, '\x09'));
  Put32(body, 0);
  return Block(1, body);
}
std::string Epb(uint32_t interface, uint64_t ts_ns, const std::string& frame, uint32_t wire,
                uint32_t flags) {
  std::string body;
  Put32(body, interface);
  Put32(body, static_cast<uint32_t>(ts_ns >> 32));
  Put32(body, static_cast<uint32_t>(ts_ns));
  Put32(body, static_cast<uint32_t>(frame.size()));
  Put32(body, wire);
  body += frame;
  Pad(body);
  std::string value(4, '\0');
  std::memcpy(value.data(), &flags, 4);
  Option(body, 2, value);
  Put32(body, 0);
  return Block(6, body);
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// An ICMP echo request from 10.9.1.1 (02:00:00:01:00:01) to 10.9.1.2 (02:00:00:02:00:01).
std::string Ping() {
  std::string frame = Bytes({2, 0, 0, 2, 0, 1, 2, 0, 0, 1, 0, 1, 0x08, 0x00});
  frame += Bytes({0x45, 0, 0, 84, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 9, 1, 1, 10, 9, 1, 2});
  frame += Bytes({8, 0, 0, 0, 0, 1, 0, 1});
  return frame;
}
std::string ArpRequest() {
  std::string frame = Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 1, 0, 1, 0x08, 0x06});
  frame +=
      Bytes({0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 1, 0, 1, 10, 9, 1, 1, 0, 0, 0, 0, 0, 0, 10, 9, 1, 2});
  return frame;
}

constexpr uint64_t kTime = 1'764'900'000'123'456'789;

TEST(CaptureFileReaderTest, PcapngFramesAsTheyArriveByteByByte) {
  std::string file = Shb() + Idb("a.eth1") + Idb("tap0") + Epb(0, kTime, Ping(), 98, 1) +
                     Epb(1, kTime + 5, ArpRequest(), 60, 2);
  CaptureFileReader reader;
  std::vector<CaptureFileReader::Frame> frames;
  for (char c : file) {
    ASSERT_TRUE(reader.Feed(std::string(1, c), [&](const auto& f) { frames.push_back(f); }).ok());
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].interface, "a.eth1");
  EXPECT_EQ(frames[0].direction, 1);
  EXPECT_EQ(frames[0].timestamp_ns, static_cast<int64_t>(kTime));
  EXPECT_EQ(frames[0].wire_length, 98u);
  EXPECT_EQ(frames[0].data, Ping());
  EXPECT_EQ(frames[1].interface, "tap0");
  EXPECT_EQ(frames[1].direction, 2);

  absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_EQ(FrameSummary(frames[0], utc),
            "02:00:00.123456789 a.eth1 in  98 02:00:00:01:00:01 > 02:00:00:02:00:01 IPv4 "
            "10.9.1.1 > 10.9.1.2 ICMP echo request");
  EXPECT_EQ(FrameSummary(frames[1], utc),
            "02:00:00.123456794 tap0 out 60 02:00:00:01:00:01 > ff:ff:ff:ff:ff:ff ARP who-has "
            "10.9.1.2 tell 10.9.1.1");
}

TEST(CaptureFileReaderTest, ClassicPcapNanoseconds) {
  std::string file;
  Put32(file, 0xa1b23c4d);
  Put16(file, 2);
  Put16(file, 4);
  Put32(file, 0);
  Put32(file, 0);
  Put32(file, 65535);
  Put32(file, 1);
  Put32(file, static_cast<uint32_t>(kTime / 1'000'000'000));
  Put32(file, static_cast<uint32_t>(kTime % 1'000'000'000));
  Put32(file, static_cast<uint32_t>(Ping().size()));
  Put32(file, 98);
  file += Ping();
  CaptureFileReader reader;
  std::vector<CaptureFileReader::Frame> frames;
  ASSERT_TRUE(reader.Feed(file, [&](const auto& f) { frames.push_back(f); }).ok());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].timestamp_ns, static_cast<int64_t>(kTime));
  EXPECT_EQ(frames[0].direction, 0);
  EXPECT_EQ(frames[0].data, Ping());
}

TEST(CaptureFileReaderTest, GarbageIsRefusedAndShortFramesSummarized) {
  CaptureFileReader reader;
  EXPECT_FALSE(reader.Feed("not a capture file", [](const auto&) {}).ok());
  CaptureFileReader::Frame frame;
  frame.data = "abc";
  frame.wire_length = 3;
  EXPECT_THAT(FrameSummary(frame, absl::UTCTimeZone()), ::testing::EndsWith("truncated"));
  frame.data = Ping().substr(0, 20);
  EXPECT_THAT(FrameSummary(frame, absl::UTCTimeZone()), ::testing::EndsWith("IPv4 truncated"));
}

}  // namespace
}  // namespace clownix::cli
