// CaptureWriter (the switch's side of a capture ring) against CaptureRingReader (the client's),
// in one process over a real capture segment.
#include "switchcore/capture_writer.h"

#include <linux/filter.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "switchcore/ctl/capture_layout.h"
#include "switchcore/ctl/capture_ring_reader.h"
#include "switchcore/ctl/capture_segment.h"

namespace clownix::switchcore {
namespace {

struct Got {
  uint64_t port;
  ctl::Direction direction;
  int64_t ts;
  uint32_t wire;
  std::vector<uint8_t> data;
};

class CaptureWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto seg = ctl::CaptureSegment::Create();
    ASSERT_TRUE(seg.ok()) << seg.status();
    seg_ = *std::move(seg);
    seg_->ResetSlot(0);
    seg_->slot(0)->snaplen = 65535;
  }
  absl::StatusOr<std::unique_ptr<CaptureWriter>> Writer(std::vector<sock_filter> program = {}) {
    seg_->slot(0)->program_len = program.size();
    if (!program.empty()) {
      std::memcpy(seg_->program(0), program.data(), program.size() * sizeof(sock_filter));
    }
    return CaptureWriter::Create(seg_->slot(0), seg_->program(0), seg_->ring(0));
  }
  std::vector<Got> ReadAll(ctl::CaptureRingReader& reader) {
    std::vector<Got> out;
    auto n = reader.Drain(1u << 30, [&](const CapturedFrame& f) {
      out.push_back(
          {f.port_id, f.direction, f.timestamp_ns, f.wire_length, {f.data.begin(), f.data.end()}});
    });
    EXPECT_TRUE(n.ok()) << n.status();
    return out;
  }
  static std::vector<uint8_t> Frame(size_t len, uint8_t fill, uint16_t ethertype = 0x0800) {
    std::vector<uint8_t> f(len, fill);
    f[12] = ethertype >> 8;
    f[13] = ethertype & 0xff;
    return f;
  }

  std::unique_ptr<ctl::CaptureSegment> seg_;
  CaptureClock clock_;
};

TEST_F(CaptureWriterTest, FramesRoundTripAfterPublish) {
  auto w = Writer();
  ASSERT_TRUE(w.ok()) << w.status();
  ctl::CaptureRingReader reader(seg_->slot(0), seg_->ring(0));
  auto a = Frame(60, 0xa1), b = Frame(1514, 0xb2);
  (*w)->Offer(7, ctl::Direction::kIngress, clock_, a.data(), a.size());
  (*w)->Offer(9, ctl::Direction::kEgress, clock_, b.data(), b.size());
  EXPECT_FALSE(reader.HasData());  // nothing is visible before the round ends
  (*w)->Publish();
  std::vector<Got> got = ReadAll(reader);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].port, 7u);
  EXPECT_EQ(got[0].direction, ctl::Direction::kIngress);
  EXPECT_EQ(got[0].data, a);
  EXPECT_EQ(got[1].port, 9u);
  EXPECT_EQ(got[1].direction, ctl::Direction::kEgress);
  EXPECT_EQ(got[1].wire, 1514u);
  EXPECT_EQ(got[1].data, b);
  EXPECT_GT(got[0].ts, 1600000000ll * 1000000000);  // CLOCK_REALTIME
  EXPECT_EQ(seg_->slot(0)->matched.load(), 2u);
  EXPECT_EQ(seg_->slot(0)->dropped.load(), 0u);
}

TEST_F(CaptureWriterTest, SnaplenTruncatesAndWireLengthStays) {
  seg_->slot(0)->snaplen = 20;
  auto w = Writer();
  ASSERT_TRUE(w.ok());
  ctl::CaptureRingReader reader(seg_->slot(0), seg_->ring(0));
  auto f = Frame(100, 0x33);
  (*w)->Offer(1, ctl::Direction::kIngress, clock_, f.data(), f.size());
  (*w)->Publish();
  std::vector<Got> got = ReadAll(reader);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].wire, 100u);
  EXPECT_EQ(got[0].data, std::vector<uint8_t>(f.begin(), f.begin() + 20));
}

TEST_F(CaptureWriterTest, FilterPassesExactlyWhatItShould) {
  // ether proto 0x0806 (what tcpdump -d 'arp' prints for Ethernet).
  std::vector<sock_filter> arp = {
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0806, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 262144),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  auto w = Writer(arp);
  ASSERT_TRUE(w.ok()) << w.status();
  ctl::CaptureRingReader reader(seg_->slot(0), seg_->ring(0));
  for (int i = 0; i < 10; ++i) {
    auto f = Frame(60, i, i % 3 == 0 ? 0x0806 : 0x0800);
    (*w)->Offer(1, ctl::Direction::kIngress, clock_, f.data(), f.size());
  }
  (*w)->Publish();
  std::vector<Got> got = ReadAll(reader);
  ASSERT_EQ(got.size(), 4u);  // 0, 3, 6, 9
  for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k].data[20], 3 * k);
  EXPECT_EQ((*w)->matched(), 4u);
}

TEST_F(CaptureWriterTest, BadProgramsAndSnaplensAreRefused) {
  // No return at the end; a jump out of the program; a division by a constant zero.
  std::vector<std::vector<sock_filter>> bad = {
      {BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12)},
      {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 5, 0), BPF_STMT(BPF_RET | BPF_K, 0)},
      {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, 0)},
  };
  for (auto& program : bad) {
    EXPECT_EQ(Writer(program).status().code(), absl::StatusCode::kInvalidArgument);
  }
  seg_->slot(0)->program_len = ctl::kCaptureMaxInsns + 1;
  EXPECT_EQ(CaptureWriter::Create(seg_->slot(0), seg_->program(0), seg_->ring(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  for (uint32_t snaplen : {0u, 65536u}) {
    seg_->slot(0)->snaplen = snaplen;
    EXPECT_EQ(Writer().status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(CaptureWriterTest, AFullRingDropsAndWrapsWithPadding) {
  auto w = Writer();
  ASSERT_TRUE(w.ok());
  ctl::CaptureRingReader reader(seg_->slot(0), seg_->ring(0));
  auto f = Frame(1000, 0x44);
  // 1040-byte records: 4 MiB holds 4032 of them, and the 4033rd would wrap.
  const uint64_t fit = ctl::kCaptureRingBytes / 1040;
  for (uint64_t i = 0; i < fit + 10; ++i) {
    f[20] = i & 0xff;
    (*w)->Offer(1, ctl::Direction::kIngress, clock_, f.data(), f.size());
  }
  (*w)->Publish();
  EXPECT_EQ((*w)->dropped(), 10u);
  EXPECT_EQ(seg_->slot(0)->dropped.load(), 10u);
  EXPECT_EQ(ReadAll(reader).size(), fit);
  // Room again: the next records wrap around the end behind a padding record.
  for (int round = 0; round < 3; ++round) {
    for (uint64_t i = 0; i < fit / 2; ++i) {
      f[20] = i & 0xff;
      (*w)->Offer(1, ctl::Direction::kIngress, clock_, f.data(), f.size());
    }
    (*w)->Publish();
    std::vector<Got> got = ReadAll(reader);
    ASSERT_EQ(got.size(), fit / 2);
    for (uint64_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].data[20], i & 0xff);
  }
  EXPECT_EQ((*w)->dropped(), 10u);
}

TEST_F(CaptureWriterTest, AScribbledTailIsNotTrusted) {
  auto w = Writer();
  ASSERT_TRUE(w.ok());
  auto f = Frame(1000, 0x44);
  (*w)->Offer(1, ctl::Direction::kIngress, clock_, f.data(), f.size());
  (*w)->Publish();
  seg_->slot(0)->tail.value.store(~0ull);  // ahead of anything written
  for (uint64_t i = 0; i < ctl::kCaptureRingBytes / 1040 + 5; ++i) {
    (*w)->Offer(1, ctl::Direction::kIngress, clock_, f.data(), f.size());
  }
  EXPECT_EQ((*w)->dropped(), 6u);  // the ring filled as if nothing had been read
}

TEST_F(CaptureWriterTest, TheReaderRefusesScribbledRecords) {
  auto w = Writer();
  ASSERT_TRUE(w.ok());
  auto f = Frame(60, 0x44);
  (*w)->Offer(1, ctl::Direction::kIngress, clock_, f.data(), f.size());
  (*w)->Publish();
  reinterpret_cast<ctl::CaptureRecord*>(seg_->ring(0))->captured_length = 5000;
  ctl::CaptureRingReader reader(seg_->slot(0), seg_->ring(0));
  auto n = reader.Drain(10, [](const CapturedFrame&) { FAIL(); });
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInternal);
  ctl::CaptureRingReader reader2(seg_->slot(0), seg_->ring(0));
  seg_->slot(0)->head.value.store(ctl::kCaptureRingBytes + 8);  // more than a ring ahead
  EXPECT_EQ(reader2.Drain(10, [](const CapturedFrame&) {}).status().code(),
            absl::StatusCode::kInternal);
}

TEST_F(CaptureWriterTest, PublishWakesASleepingReaderAndInterruptToo) {
  auto w = Writer();
  ASSERT_TRUE(w.ok());
  ctl::CaptureRingReader reader(seg_->slot(0), seg_->ring(0));
  std::atomic<bool> interrupted{false};
  std::atomic<int> frames{0};
  std::thread t([&] {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (frames.load() == 0 && absl::Now() < deadline) {
      reader.Wait(deadline, interrupted);
      auto n = reader.Drain(10, [&](const CapturedFrame&) { frames.fetch_add(1); });
      ASSERT_TRUE(n.ok());
    }
    while (!interrupted.load() && absl::Now() < deadline) reader.Wait(deadline, interrupted);
  });
  auto f = Frame(60, 1);
  (*w)->Offer(1, ctl::Direction::kIngress, clock_, f.data(), f.size());
  (*w)->Publish();
  interrupted.store(true);
  ctl::CaptureRingReader::Interrupt(seg_->slot(0));
  t.join();
  EXPECT_EQ(frames.load(), 1);
}

}  // namespace
}  // namespace clownix::switchcore
