#include "switchcore/handshake.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::switchcore {
namespace {

class HandshakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    hs_ = std::make_unique<Handshake>(sv[0], 0);
    peer_ = sv[1];
    BuildRequest(AbstractAddress("vm"), req_);
  }
  void TearDown() override { close(peer_); }
  std::unique_ptr<Handshake> hs_;
  int peer_;
  uint8_t req_[kRequestSize];
};

TEST_F(HandshakeTest, ByteByByte) {
  for (size_t i = 0; i < kRequestSize - 1; ++i) {
    ASSERT_EQ(write(peer_, req_ + i, 1), 1);
    auto r = hs_->OnReadable();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(*r);
  }
  ASSERT_EQ(write(peer_, req_ + kRequestSize - 1, 1), 1);
  auto r = hs_->OnReadable();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_TRUE(hs_->address() == AbstractAddress("vm"));
}

TEST_F(HandshakeTest, ReplyIs110Bytes) {
  ASSERT_EQ(write(peer_, req_, kRequestSize), static_cast<ssize_t>(kRequestSize));
  ASSERT_TRUE(*hs_->OnReadable());
  ASSERT_TRUE(hs_->SendReply(AbstractAddress("switch")).ok());
  uint8_t buf[256];
  ASSERT_EQ(read(peer_, buf, sizeof(buf)), 110);
  EXPECT_TRUE(*ParseDataAddress(absl::MakeConstSpan(buf, 110)) == AbstractAddress("switch"));
}

TEST_F(HandshakeTest, TrailingBytesAreLeftUnread) {
  uint8_t more[kRequestSize + 20] = {};
  std::memcpy(more, req_, kRequestSize);
  ASSERT_EQ(write(peer_, more, sizeof(more)), static_cast<ssize_t>(sizeof(more)));
  ASSERT_TRUE(*hs_->OnReadable());
}

TEST_F(HandshakeTest, PeerClosesEarly) {
  ASSERT_EQ(write(peer_, req_, 10), 10);
  close(peer_);
  peer_ = socket(AF_UNIX, SOCK_STREAM, 0);  // something to close in TearDown
  auto r = hs_->OnReadable();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("after 10 of 124"));
}

TEST_F(HandshakeTest, BadMagicIsInvalid) {
  req_[1] ^= 0xff;
  ASSERT_EQ(write(peer_, req_, kRequestSize), static_cast<ssize_t>(kRequestSize));
  EXPECT_EQ(hs_->OnReadable().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HandshakeTest, SilentPeerNeedsMore) {
  auto r = hs_->OnReadable();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

}  // namespace
}  // namespace clownix::switchcore
