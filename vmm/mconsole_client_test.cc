#include "vmm/mconsole_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

std::string ReplyDatagram(int err, int more, const std::string& text) {
  mconsole_wire::Reply reply = {};
  reply.err = err;
  reply.more = more;
  reply.len = text.size() + 1;  // UML counts the NUL.
  memcpy(reply.data, text.c_str(), text.size() + 1);
  return std::string(reinterpret_cast<char*>(&reply), 12 + reply.len);
}

TEST(MconsoleClientTest, EncodesRequest) {
  absl::StatusOr<mconsole_wire::Request> r = MconsoleClient::EncodeRequest("config eth1=x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->magic, 0xcafebabe);
  EXPECT_EQ(r->version, 2u);
  EXPECT_EQ(r->len, 13u);
  EXPECT_EQ(std::string(r->data, r->len), "config eth1=x");
  const unsigned char* raw = reinterpret_cast<const unsigned char*>(&*r);
  EXPECT_EQ(raw[0], 0xbe);  // Little-endian host order on the wire.
  EXPECT_EQ(raw[3], 0xca);
}

TEST(MconsoleClientTest, RejectsOversizedOrEmptyCommand) {
  EXPECT_EQ(MconsoleClient::EncodeRequest(std::string(513, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MconsoleClient::EncodeRequest("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MconsoleClientTest, DecodesReplyAndRejectsLies) {
  bool more = true;
  bool error = true;
  std::string d = ReplyDatagram(0, 0, "pts:/dev/pts/3");
  EXPECT_EQ(*MconsoleClient::DecodeReply(d, &more, &error), "pts:/dev/pts/3");
  EXPECT_FALSE(more);
  EXPECT_FALSE(error);
  // Claims more bytes than the datagram holds.
  EXPECT_FALSE(MconsoleClient::DecodeReply(d.substr(0, d.size() - 4), &more, &error).ok());
  EXPECT_FALSE(MconsoleClient::DecodeReply("short", &more, &error).ok());
}

TEST(MconsoleClientTest, DecodesNotification) {
  mconsole_wire::Notify n = {};
  n.magic = mconsole_wire::kMagic;
  n.version = 2;
  n.type = mconsole_wire::kNotifyUser;
  n.len = 15;
  memcpy(n.data, "agent-ready v1\n", 15);
  auto decoded = MconsoleClient::DecodeNotify(std::string(reinterpret_cast<char*>(&n), 16 + 15));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->type, mconsole_wire::kNotifyUser);
  EXPECT_EQ(decoded->data, "agent-ready v1");
  n.magic = 1;
  EXPECT_FALSE(
      MconsoleClient::DecodeNotify(std::string(reinterpret_cast<char*>(&n), 16 + 15)).ok());
}

// A datagram peer standing in for the VM's socket: checks the request and answers in two parts.
TEST(MconsoleClientTest, SendCollectsMultiPartReplyOverARealSocket) {
  // Unix socket paths hold 107 bytes: Bazel's TEST_TMPDIR can be deeper than that.
  char dir[] = "/tmp/mconsole-test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = absl::StrCat(dir, "/mc");
  int server = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::thread peer([&] {
    char buf[1024];
    sockaddr_un from = {};
    socklen_t from_len = sizeof(from);
    ssize_t n =
        recvfrom(server, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    ASSERT_EQ(n, 12 + 7);
    EXPECT_EQ(std::string(buf + 12, 7), "version");
    for (auto [more, text] : {std::pair{1, std::string("Linux 6.1 ")}, {0, "um"}}) {
      std::string d = ReplyDatagram(0, more, text);
      sendto(server, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
    }
    n = recvfrom(server, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    std::string d = ReplyDatagram(1, 0, "Device is currently open");
    sendto(server, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  });
  absl::StatusOr<std::string> version = MconsoleClient::Send(path, "version");
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, "Linux 6.1 um");
  absl::StatusOr<std::string> removed = MconsoleClient::Send(path, "remove eth1");
  EXPECT_EQ(removed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(removed.status().message().find("currently open"), std::string::npos);
  peer.join();
  close(server);

  // Nobody listening any more.
  unlink(path.c_str());
  EXPECT_EQ(MconsoleClient::Send(path, "version").status().code(), absl::StatusCode::kUnavailable);
  rmdir(dir);
}

// A VM that never ends its reply ("more" on every part) gets INTERNAL once the text passes
// kMaxReplyBytes, not a reply that grows until the timeout.
TEST(MconsoleClientTest, AnEndlessReplyIsRefused) {
  char dir[] = "/tmp/mconsole-test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = absl::StrCat(dir, "/mc");
  int server = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size());
  ASSERT_EQ(bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::thread peer([&] {
    char buf[600];
    sockaddr_un from = {};
    socklen_t from_len = sizeof(from);
    ASSERT_GT(recvfrom(server, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len),
              0);
    const std::string d = ReplyDatagram(0, 1, std::string(500, 'x'));
    // Until the client gives up and closes its socket.
    while (sendto(server, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len) >
           0) {
    }
  });
  absl::StatusOr<std::string> reply = MconsoleClient::Send(path, "version", absl::Seconds(60));
  peer.join();
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInternal) << reply.status();
  EXPECT_NE(reply.status().message().find("exceeds"), std::string::npos) << reply.status();
  close(server);
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace clownix::vmm
