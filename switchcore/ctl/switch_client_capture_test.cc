// Packet capture end to end: the real clownix-switchcore binary driven through
// SwitchClient::StartCapture, daemon-protocol endpoints standing where UML VMs would.
#include <pcap/pcap.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "switchcore/ctl/capture_layout.h"
#include "switchcore/ctl/capture_session.h"
#include "switchcore/ctl/switch_client.h"
#include "switchcore/testing/daemon_endpoint.h"
#include "switchcore/testing/switch_fixture.h"

namespace clownix::switchcore {
namespace {

using ::testing::HasSubstr;

struct Got {
  uint64_t port;
  ctl::Direction direction;
  int64_t ts;
  uint32_t wire;
  std::vector<uint8_t> data;
};

class CaptureTest : public SwitchFixture {
 protected:
  // Reads until `n` frames came, the capture ended (its status in `end`), or `timeout`.
  static std::vector<Got> ReadN(CaptureSession& s, size_t n,
                                absl::Duration timeout = absl::Seconds(10),
                                absl::Status* end = nullptr) {
    std::vector<Got> out;
    const absl::Time deadline = absl::Now() + timeout;
    while (out.size() < n && absl::Now() < deadline) {
      absl::Status st = s.Read(deadline, n - out.size(), [&](const CapturedFrame& f) {
        out.push_back({f.port_id, f.direction, f.timestamp_ns, f.wire_length,
                       std::vector<uint8_t>(f.data.begin(), f.data.end())});
      });
      if (!st.ok()) {
        if (end != nullptr) *end = st;
        break;
      }
    }
    return out;
  }
  // Reads everything until the capture ends; its status.
  static absl::Status ReadToEnd(CaptureSession& s, std::vector<Got>* got = nullptr,
                                absl::Duration timeout = absl::Seconds(10)) {
    absl::Status end = absl::DeadlineExceededError("the capture did not end");
    std::vector<Got> frames = ReadN(s, SIZE_MAX, timeout, &end);
    if (got != nullptr) *got = std::move(frames);
    return end;
  }
  // A classic BPF program for `filter` (tcpdump syntax), as the server compiles it.
  static std::vector<sock_filter> Compile(const std::string& filter) {
    pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
    struct bpf_program prog;
    EXPECT_EQ(pcap_compile(p, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN), 0) << pcap_geterr(p);
    std::vector<sock_filter> out(prog.bf_len);
    std::memcpy(out.data(), prog.bf_insns, prog.bf_len * sizeof(sock_filter));
    pcap_freecode(&prog);
    pcap_close(p);
    return out;
  }
  std::unique_ptr<CaptureSession> Start(const CaptureSpec& spec) {
    absl::StatusOr<std::unique_ptr<CaptureSession>> s = client_->StartCapture(spec);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }
  static CaptureSpec Spec(const std::string& lan, uint64_t port = 0) {
    CaptureSpec spec;
    spec.lan = lan;
    spec.port_id = port;
    return spec;
  }
  // Sends and waits until `to` got it (the switch forwarded it).
  static void SendAndReceive(DaemonEndpoint& from, DaemonEndpoint& to,
                             const std::vector<uint8_t>& frame) {
    ASSERT_TRUE(from.Send(frame.data(), frame.size()).ok());
    uint8_t buf[2048];
    auto n = to.Receive(buf, sizeof(buf), absl::Seconds(5));
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_EQ(*n, frame.size());
  }
};

TEST_F(CaptureTest, PortCaptureSeesIngressAndEgressAsDelivered) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  auto c = Join("blue", "c");
  ASSERT_TRUE(a && b && c);
  uint64_t pa = PortOf(*a);
  auto cap = Start(Spec("blue", pa));
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ(cap->bound_port(), pa);
  auto from_a = Frame(1, kBroadcast, 60, 0xa1);
  SendAndReceive(*a, *b, from_a);
  auto to_a = Frame(2, MacOf(1).data(), 100, 0xb2);  // a's MAC is learned: unicast to a
  SendAndReceive(*b, *a, to_a);
  auto c_to_b = Frame(3, MacOf(2).data(), 80, 0xc3);  // not a's business
  SendAndReceive(*c, *b, c_to_b);
  auto to_a2 = Frame(3, MacOf(1).data(), 1518, 0xc4);
  SendAndReceive(*c, *a, to_a2);
  std::vector<Got> got = ReadN(*cap, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].port, pa);
  EXPECT_EQ(got[0].direction, ctl::Direction::kIngress);
  EXPECT_EQ(got[0].wire, 60u);
  EXPECT_EQ(got[0].data, from_a);
  EXPECT_EQ(got[1].port, pa);
  EXPECT_EQ(got[1].direction, ctl::Direction::kEgress);
  EXPECT_EQ(got[1].data, to_a);
  EXPECT_EQ(got[2].direction, ctl::Direction::kEgress);
  EXPECT_EQ(got[2].wire, 1518u);
  EXPECT_EQ(got[2].data, to_a2);
  int64_t now = absl::ToUnixNanos(absl::Now());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_GT(got[i].ts, now - int64_t{60} * 1000000000);  // CLOCK_REALTIME, just now
    EXPECT_LE(got[i].ts, now);
    if (i > 0) EXPECT_GE(got[i].ts, got[i - 1].ts);
  }
  EXPECT_TRUE(ReadN(*cap, 1, absl::Milliseconds(200)).empty());  // nothing else
  EXPECT_EQ(cap->dropped(), 0u);
}

TEST_F(CaptureTest, EgressIsWhatThePortIsGivenAfterItsImpairments) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  ASSERT_TRUE(a && b);
  uint64_t pa = PortOf(*a);
  SendAndReceive(*a, *b, Frame(1, kBroadcast, 60));  // b learns where a is
  ctl::Impairment loss = {};
  loss.loss_ppm = 1000000;  // everything a would be given is lost
  ASSERT_TRUE(client_->SetImpairment(pa, ctl::Direction::kEgress, loss).ok());
  auto cap = Start(Spec("blue", pa));
  ASSERT_NE(cap, nullptr);
  auto lost = Frame(2, MacOf(1).data(), 90, 0x01);
  ASSERT_TRUE(b->Send(lost.data(), lost.size()).ok());
  ASSERT_TRUE(WaitCounters(pa, [](const auto& c) { return c.drops[ctl::kDropImpairLoss] == 1; }));
  auto sent = Frame(1, kBroadcast, 70, 0x02);
  SendAndReceive(*a, *b, sent);
  std::vector<Got> got = ReadN(*cap, 2, absl::Milliseconds(500));
  ASSERT_EQ(got.size(), 1u);  // a's own frame only: the lost one never reached a
  EXPECT_EQ(got[0].direction, ctl::Direction::kIngress);
  EXPECT_EQ(got[0].data, sent);
}

TEST_F(CaptureTest, LanCaptureSeesEverySendersFramesOnce) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  auto c = Join("blue", "c");
  ASSERT_TRUE(a && b && c);
  auto cap = Start(Spec("blue"));
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ(cap->bound_port(), 0u);
  SendAndReceive(*a, *b, Frame(1, kBroadcast, 60, 1));  // flooded to b and c: captured once
  SendAndReceive(*b, *a, Frame(2, MacOf(1).data(), 70, 2));
  SendAndReceive(*c, *b, Frame(3, MacOf(2).data(), 80, 3));
  std::vector<Got> got = ReadN(*cap, 3);
  ASSERT_EQ(got.size(), 3u);
  uint64_t want[] = {PortOf(*a), PortOf(*b), PortOf(*c)};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i].port, want[i]);
    EXPECT_EQ(got[i].direction, ctl::Direction::kIngress);
    EXPECT_EQ(got[i].wire, 60u + 10 * i);
    EXPECT_EQ(got[i].data[20], i + 1);
  }
  EXPECT_TRUE(ReadN(*cap, 1, absl::Milliseconds(200)).empty());
}

TEST_F(CaptureTest, FilterPassesExactlyWhatItShould) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  ASSERT_TRUE(a && b);
  CaptureSpec spec = Spec("blue");
  spec.program = Compile("ether src 02:00:00:00:00:02 and not arp");
  auto cap = Start(spec);
  ASSERT_NE(cap, nullptr);
  for (int i = 0; i < 6; ++i) {
    auto fa = Frame(1, kBroadcast, 60, i);
    SendAndReceive(*a, *b, fa);
    auto fb = Frame(2, kBroadcast, 60, i);
    if (i % 2 == 1) fb[12] = 0x08, fb[13] = 0x06;  // ARP: filtered out
    SendAndReceive(*b, *a, fb);
  }
  std::vector<Got> got = ReadN(*cap, 10, absl::Seconds(1));
  ASSERT_EQ(got.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(got[k].port, PortOf(*b));
    EXPECT_EQ(got[k].data[20], 2 * k);
  }
}

TEST_F(CaptureTest, SnaplenTruncates) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  ASSERT_TRUE(a && b);
  CaptureSpec spec = Spec("blue");
  spec.snaplen = 20;
  auto cap = Start(spec);
  ASSERT_NE(cap, nullptr);
  auto f = Frame(1, kBroadcast, 200, 0x77);
  SendAndReceive(*a, *b, f);
  std::vector<Got> got = ReadN(*cap, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].wire, 200u);
  EXPECT_EQ(got[0].data, std::vector<uint8_t>(f.begin(), f.begin() + 20));
}

TEST_F(CaptureTest, MacBoundCaptureStartedBeforeTheEndpointShowsItsFirstFrame) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  ASSERT_TRUE(a);
  CaptureSpec spec = Spec("blue");
  spec.mac = std::array<uint8_t, 6>{0x02, 0, 0, 0, 0, 5};
  auto cap = Start(spec);
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ(cap->bound_port(), 0u);
  auto e = Join("blue", "e");  // boots after the capture started
  ASSERT_TRUE(e);
  auto first = Frame(5, kBroadcast, 64, 0x55);
  SendAndReceive(*e, *a, first);
  SendAndReceive(*a, *e, Frame(1, MacOf(5).data(), 70, 0x11));  // to e: egress of e
  SendAndReceive(*a, *e, Frame(1, kBroadcast, 80, 0x12));
  std::vector<Got> got = ReadN(*cap, 3);
  ASSERT_EQ(got.size(), 3u);
  uint64_t pe = PortOf(*e);
  EXPECT_EQ(cap->bound_port(), pe);
  EXPECT_EQ(got[0].port, pe);
  EXPECT_EQ(got[0].direction, ctl::Direction::kIngress);
  EXPECT_EQ(got[0].data, first);
  EXPECT_EQ(got[1].direction, ctl::Direction::kEgress);
  EXPECT_EQ(got[1].wire, 70u);
  EXPECT_EQ(got[2].direction, ctl::Direction::kEgress);
  EXPECT_EQ(got[2].wire, 80u);
}

TEST_F(CaptureTest, TwoCapturesOfTheSamePortBothSeeEverything) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  ASSERT_TRUE(a && b);
  uint64_t pa = PortOf(*a);
  auto one = Start(Spec("blue", pa));
  CaptureSpec spec = Spec("blue", pa);
  spec.snaplen = 30;
  auto two = Start(spec);
  ASSERT_TRUE(one && two);
  for (int i = 0; i < 5; ++i) SendAndReceive(*a, *b, Frame(1, kBroadcast, 100, i));
  std::vector<Got> g1 = ReadN(*one, 5), g2 = ReadN(*two, 5);
  ASSERT_EQ(g1.size(), 5u);
  ASSERT_EQ(g2.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(g1[i].data.size(), 100u);
    EXPECT_EQ(g2[i].data.size(), 30u);
    EXPECT_EQ(g1[i].data[20], i);
    EXPECT_EQ(g2[i].data[20], i);
  }
}

TEST_F(CaptureTest, AReaderThatDoesNotReadLosesCaptureFramesNeverForwardedOnes) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  ASSERT_TRUE(a && b);
  uint64_t pb = PortOf(*b);
  auto cap = Start(Spec("blue", pb));
  ASSERT_NE(cap, nullptr);
  // 1560-byte records: a 4 MiB ring holds about 2690 of them.
  const int kFrames = 4000;
  for (int i = 0; i < kFrames; ++i) {
    auto f = Frame(1, kBroadcast, 1514, i & 0xff);
    SendAndReceive(*a, *b, f);
    if (HasFatalFailure()) return;
  }
  ASSERT_TRUE(WaitCounters(pb, [&](const auto& c) { return c.tx_frames == kFrames; }));
  auto counters = client_->ReadCounters(pb);
  ASSERT_TRUE(counters.ok());
  for (uint64_t d : counters->drops) EXPECT_EQ(d, 0u);
  EXPECT_GT(cap->dropped(), 0u);
  std::vector<Got> got = ReadN(*cap, kFrames, absl::Seconds(2));
  EXPECT_EQ(got.size() + cap->dropped(), static_cast<size_t>(kFrames));
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].data[20], i & 0xff);  // the first ones
}

TEST_F(CaptureTest, BadSpecsAreRefused) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  ASSERT_TRUE(a);
  CaptureSpec spec = Spec("blue");
  spec.program = {BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12)};  // no return
  absl::StatusOr<std::unique_ptr<CaptureSession>> s = client_->StartCapture(spec);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("bpf_validate"));
  spec.program.clear();
  spec.snaplen = 0;
  EXPECT_EQ(client_->StartCapture(spec).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->StartCapture(Spec("nope")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->StartCapture(Spec("blue", 12345)).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(client_->CreateLan("red").ok());
  EXPECT_EQ(client_->StartCapture(Spec("red", PortOf(*a))).status().code(),
            absl::StatusCode::kNotFound);  // a is on blue
}

TEST_F(CaptureTest, PortDownEndsWithAbortedAfterTheFrames) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  ASSERT_TRUE(a && b);
  uint64_t pa = PortOf(*a);
  auto cap = Start(Spec("blue", pa));
  ASSERT_NE(cap, nullptr);
  for (int i = 0; i < 3; ++i) SendAndReceive(*a, *b, Frame(1, kBroadcast, 60, i));
  a->CloseControl();
  ASSERT_TRUE(WaitEvent([&](const auto& e) { return !e.up && e.port.port_id == pa; }));
  std::vector<Got> got;
  absl::Status end = ReadToEnd(*cap, &got);
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(end.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(end.message(), HasSubstr("port down: control stream closed"));
  EXPECT_EQ(cap->Read(absl::Now(), 10, [](const CapturedFrame&) {}).code(),
            absl::StatusCode::kAborted);  // each time
}

TEST_F(CaptureTest, DeletingTheLanEndsWithNotFound) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  ASSERT_TRUE(a && b);
  auto lan_cap = Start(Spec("blue"));
  auto port_cap = Start(Spec("blue", PortOf(*a)));
  ASSERT_TRUE(lan_cap && port_cap);
  SendAndReceive(*a, *b, Frame(1, kBroadcast, 60));
  ASSERT_TRUE(client_->DeleteLan("blue").ok());
  for (CaptureSession* s : {lan_cap.get(), port_cap.get()}) {
    std::vector<Got> got;
    absl::Status end = ReadToEnd(*s, &got);
    EXPECT_EQ(got.size(), 1u);
    EXPECT_EQ(end.code(), absl::StatusCode::kNotFound) << end;
  }
}

TEST_F(CaptureTest, AKilledSwitchEndsCapturesWithUnavailableAndFreesTheirSlots) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  auto b = Join("blue", "b");
  ASSERT_TRUE(a && b);
  std::vector<std::unique_ptr<CaptureSession>> caps;
  for (uint32_t i = 0; i < ctl::kCaptureSlots; ++i) caps.push_back(Start(Spec("blue")));
  // Captures are published at the end of the switch's round, after the frames went out: once the
  // second frame is through, the first one is published.
  SendAndReceive(*a, *b, Frame(1, kBroadcast, 60));
  SendAndReceive(*a, *b, Frame(1, kBroadcast, 60));
  ASSERT_EQ(kill(client_->pid(), SIGKILL), 0);
  for (auto& cap : caps) {
    std::vector<Got> got;
    EXPECT_EQ(ReadToEnd(*cap, &got).code(), absl::StatusCode::kUnavailable);
    EXPECT_GE(got.size(), 1u);  // what the switch published before it died
  }
  ASSERT_TRUE(client_->WaitReady(absl::Seconds(10)).ok());
  EXPECT_EQ(client_->StartCapture(Spec("blue")).status().code(),
            absl::StatusCode::kResourceExhausted);  // the ended sessions still hold their slots
  caps.clear();
  auto fresh = Start(Spec("blue"));  // the restarted switch captures again
  ASSERT_NE(fresh, nullptr);
  SendAndReceive(*a, *b, Frame(1, kBroadcast, 60, 0x99));
  std::vector<Got> got = ReadN(*fresh, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data[20], 0x99);
}

TEST_F(CaptureTest, StopEndsWithCancelledAndWakesABlockedRead) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto cap = Start(Spec("blue"));
  ASSERT_NE(cap, nullptr);
  std::atomic<bool> reading{false};
  absl::Status end;
  std::thread reader([&] {
    reading = true;
    // Blocks: nothing is sent. Without the wake-up it would return OK at the deadline.
    end = cap->Read(absl::Now() + absl::Seconds(60), 10, [](const CapturedFrame&) {});
  });
  while (!reading) std::this_thread::yield();
  cap->Stop();
  reader.join();
  EXPECT_EQ(end.code(), absl::StatusCode::kCancelled);
  cap->Stop();  // idempotent
  EXPECT_EQ(cap->Read(absl::Now(), 10, [](const CapturedFrame&) {}).code(),
            absl::StatusCode::kCancelled);
}

TEST_F(CaptureTest, SixteenCapturesThenResourceExhausted) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  std::vector<std::unique_ptr<CaptureSession>> caps;
  for (uint32_t i = 0; i < ctl::kCaptureSlots; ++i) {
    caps.push_back(Start(Spec("blue")));
    ASSERT_NE(caps.back(), nullptr);
  }
  absl::StatusOr<std::unique_ptr<CaptureSession>> more = client_->StartCapture(Spec("blue"));
  EXPECT_EQ(more.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(more.status().message(), HasSubstr("16"));
  caps.erase(caps.begin() + 3);  // destroying a session stops it and frees its slot
  EXPECT_NE(Start(Spec("blue")), nullptr);
}

TEST_F(CaptureTest, SessionsMayOutliveTheirClientAndEndWithUnavailable) {
  ASSERT_TRUE(client_->CreateLan("blue").ok());
  auto a = Join("blue", "a");
  ASSERT_TRUE(a);
  auto lan_cap = Start(Spec("blue"));
  auto port_cap = Start(Spec("blue", PortOf(*a)));
  ASSERT_TRUE(lan_cap && port_cap);
  client_.reset();  // the switch shuts down: its ports go, but the captures say why it ended
  EXPECT_EQ(ReadToEnd(*lan_cap).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReadToEnd(*port_cap).code(), absl::StatusCode::kUnavailable);
  lan_cap.reset();
  port_cap.reset();
}

}  // namespace
}  // namespace clownix::switchcore
