#include "vmm/agent_protocol.h"

#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

TEST(AgentProtocolTest, EncodesRequests) {
  EXPECT_EQ(*AgentProtocol::EncodePing("h1-2"), "Q ping h1-2\n");
  EXPECT_EQ(*AgentProtocol::EncodeExec("x.1", "echo hi", 5, 100),
            "Q exec x.1 5 100 ZWNobyBoaQ==\n");
}

TEST(AgentProtocolTest, RejectsBadRequests) {
  EXPECT_FALSE(AgentProtocol::EncodePing("a b").ok());
  EXPECT_FALSE(AgentProtocol::EncodePing("").ok());
  EXPECT_FALSE(AgentProtocol::EncodeExec("x", "", 5, 10).ok());
  EXPECT_FALSE(AgentProtocol::EncodeExec("x", std::string(20000, 'a'), 5, 10).ok());
  EXPECT_FALSE(
      AgentProtocol::EncodeExec("x", std::string(AgentProtocol::kMaxCommandBytes + 1, 'a'), 5, 10)
          .ok());
  // The longest command, id and numbers still make a request line that fits the guest's tty.
  absl::StatusOr<std::string> longest = AgentProtocol::EncodeExec(
      std::string(40, 'i'), std::string(AgentProtocol::kMaxCommandBytes, 'a'), 86400,
      AgentProtocol::kMaxOutputCap);
  ASSERT_TRUE(longest.ok()) << longest.status();
  EXPECT_LE(longest->size(), AgentProtocol::kMaxRequestBytes);
  EXPECT_FALSE(AgentProtocol::EncodeExec("x", "true", 0, 10).ok());
  EXPECT_FALSE(AgentProtocol::EncodeExec("x", "true", 5, 2 * 1024 * 1024).ok());
}

TEST(AgentProtocolTest, ParsesReplies) {
  auto r = AgentProtocol::ParseReply("A exec x.1 3 14 aGVsbG8KNi4xLjE3Ngo=");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->kind, AgentProtocol::Reply::kExec);
  EXPECT_EQ(r->id, "x.1");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->total_output_bytes, 14u);
  EXPECT_EQ(r->output, "hello\n6.1.176\n");

  r = AgentProtocol::ParseReply("A exec x.2 timeout 0 ");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->output, "");

  r = AgentProtocol::ParseReply("A ready 0a1b 17883136");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->kind, AgentProtocol::Reply::kReady);
  EXPECT_EQ(r->lpj, 17883136);
  EXPECT_FALSE(AgentProtocol::ParseReply("A ready 0a1b x").ok());

  r = AgentProtocol::ParseReply("A pong p7\r");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, AgentProtocol::Reply::kPong);
  EXPECT_EQ(r->id, "p7");

  r = AgentProtocol::ParseReply("A read 4096");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, AgentProtocol::Reply::kRead);
  EXPECT_EQ(r->bytes_read, 4096u);
  EXPECT_FALSE(AgentProtocol::ParseReply("A read 0").ok());
  EXPECT_FALSE(AgentProtocol::ParseReply("A read -3").ok());
  EXPECT_FALSE(AgentProtocol::ParseReply("A read 12 13").ok());
}

TEST(AgentProtocolTest, QuotesArgv) {
  EXPECT_EQ(*AgentProtocol::QuoteArgv({"echo", "a b", "it's", "$(id)"}),
            "'echo' 'a b' 'it'\\''s' '$(id)'");
  EXPECT_FALSE(AgentProtocol::QuoteArgv({}).ok());
  EXPECT_FALSE(AgentProtocol::QuoteArgv({std::string("a\0b", 3)}).ok());
}

TEST(AgentProtocolTest, IgnoresNoise) {
  for (const char* bad :
       {"", "Q ping x", "A", "A pong", "A pong a b", "A exec x 300 1 AA==", "A exec x -1 1 AA==",
        "A exec x 1 z AA==", "A exec x 1 1 !!!", "/ # ls"}) {
    EXPECT_FALSE(AgentProtocol::ParseReply(bad).ok()) << bad;
  }
}

TEST(AgentProtocolTest, ExecReplyIdOfMalformedReplies) {
  EXPECT_EQ(AgentProtocol::ExecReplyId("A exec x.1 1 1 !!!"), "x.1");
  EXPECT_EQ(AgentProtocol::ExecReplyId("A exec x.1"), "x.1");
  EXPECT_EQ(AgentProtocol::ExecReplyId("A exec x.1\r"), "x.1");
  EXPECT_EQ(AgentProtocol::ExecReplyId("A exec x.1 1 1 AA=="), "x.1");
  for (const char* none :
       {"", "A exec", "A exec  1", "A pong x.1", "Q exec x.1 1", "A exec a/b 1"}) {
    EXPECT_EQ(AgentProtocol::ExecReplyId(none), "") << none;
  }
}

}  // namespace
}  // namespace clownix::vmm
