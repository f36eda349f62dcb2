#include "switchcore/daemon_protocol.h"

#include <cstring>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::switchcore {
namespace {

using ::testing::HasSubstr;

// What UML 6.1's daemon_user.c writes: {0xfeedface, 3, 0, sockaddr_un{AF_UNIX, "\0" + pid/usec}}.
std::vector<uint8_t> UmlRequest() {
  std::vector<uint8_t> b(124, 0);
  const uint8_t head[] = {0xce, 0xfa, 0xed, 0xfe, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0};
  std::memcpy(b.data(), head, sizeof(head));
  // sun_path[0] = 0 (abstract), then 3 padding bytes, int pid, int usec.
  const uint8_t name[] = {0, 0xaa, 0xbb, 0xcc, 0x39, 0x30, 0, 0, 0x40, 0xe2, 0x01, 0};
  std::memcpy(b.data() + 14, name, sizeof(name));
  return b;
}

TEST(DaemonProtocolTest, WireSizes) {
  EXPECT_EQ(kRequestSize, 124u);
  EXPECT_EQ(kReplySize, 110u);
  EXPECT_EQ(kSunPathSize, 108u);
}

TEST(DaemonProtocolTest, ParsesUmlRequestKeepingAll108Bytes) {
  auto req = UmlRequest();
  req[14 + 100] = 0x77;  // garbage after the name is part of the abstract address
  absl::StatusOr<DataAddress> addr = ParseRequest(req);
  ASSERT_TRUE(addr.ok()) << addr.status();
  EXPECT_TRUE(addr->IsAbstract());
  EXPECT_EQ(addr->addr.sun_family, AF_UNIX);
  EXPECT_EQ(std::memcmp(addr->addr.sun_path, req.data() + 14, 108), 0);
}

TEST(DaemonProtocolTest, BuildRequestRoundTrips) {
  DataAddress a = AbstractAddress("endpoint-1");
  uint8_t buf[kRequestSize];
  BuildRequest(a, buf);
  EXPECT_EQ(buf[0], 0xce);
  EXPECT_EQ(buf[3], 0xfe);
  EXPECT_EQ(buf[4], 3);
  EXPECT_EQ(buf[122], 0);  // padding zeroed
  EXPECT_EQ(buf[123], 0);
  absl::StatusOr<DataAddress> back = ParseRequest(buf);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == a);
}

TEST(DaemonProtocolTest, RejectsShortAndLongRequests) {
  auto req = UmlRequest();
  for (size_t n : {0u, 1u, 12u, 122u, 123u}) {
    absl::StatusOr<DataAddress> r = ParseRequest(absl::MakeConstSpan(req.data(), n));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << n;
    EXPECT_THAT(r.status().message(), HasSubstr("want 124"));
  }
  req.push_back(0);
  EXPECT_FALSE(ParseRequest(req).ok());
}

TEST(DaemonProtocolTest, RejectsWrongMagicVersionType) {
  auto req = UmlRequest();
  req[0] = 0xcf;
  EXPECT_THAT(ParseRequest(req).status().message(), HasSubstr("magic"));
  req = UmlRequest();
  req[4] = 2;
  EXPECT_THAT(ParseRequest(req).status().message(), HasSubstr("version 2"));
  req = UmlRequest();
  req[8] = 1;
  EXPECT_THAT(ParseRequest(req).status().message(), HasSubstr("type 1"));
}

TEST(DaemonProtocolTest, RejectsBadAddresses) {
  auto req = UmlRequest();
  req[12] = AF_INET;
  EXPECT_THAT(ParseRequest(req).status().message(), HasSubstr("family"));
  // A filesystem path filling all 108 bytes has no terminator.
  req = UmlRequest();
  std::memset(req.data() + 14, 'p', 108);
  EXPECT_THAT(ParseRequest(req).status().message(), HasSubstr("NUL-terminated"));
  // An abstract name of all zeros names nothing.
  req = UmlRequest();
  std::memset(req.data() + 14, 0, 108);
  EXPECT_THAT(ParseRequest(req).status().message(), HasSubstr("empty"));
}

TEST(DaemonProtocolTest, FilesystemPathIsZeroPaddedAfterTerminator) {
  auto req = UmlRequest();
  std::memset(req.data() + 14, 0, 108);
  std::memcpy(req.data() + 14, "/tmp/x\0garbage", 14);
  absl::StatusOr<DataAddress> addr = ParseRequest(req);
  ASSERT_TRUE(addr.ok());
  EXPECT_FALSE(addr->IsAbstract());
  EXPECT_EQ(AddressToString(*addr), "/tmp/x");
  EXPECT_EQ(addr->addr.sun_path[8], 0);
}

TEST(DaemonProtocolTest, PortDataAddressIsDeterministicAndDistinct) {
  DataAddress vm1 = AbstractAddress("vm1"), vm2 = AbstractAddress("vm2");
  DataAddress a = PortDataAddress("/w", "lan", vm1);
  EXPECT_TRUE(a == PortDataAddress("/w", "lan", vm1));
  EXPECT_FALSE(a == PortDataAddress("/w", "lan", vm2));
  EXPECT_FALSE(a == PortDataAddress("/w", "lan2", vm1));
  EXPECT_FALSE(a == PortDataAddress("/w2", "lan", vm1));
  EXPECT_TRUE(a.IsAbstract());
  EXPECT_THAT(AddressToString(a), HasSubstr("@clownix-switchcore/"));
}

TEST(DaemonProtocolTest, StableHashIsFnv1a) {
  EXPECT_EQ(StableHash(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(StableHash("a"), 0xaf63dc4c8601ec8cull);
}

}  // namespace
}  // namespace clownix::switchcore
