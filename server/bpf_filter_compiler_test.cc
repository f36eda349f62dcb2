#include "server/bpf_filter_compiler.h"

#include <linux/filter.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

using ::testing::HasSubstr;

TEST(CompileCaptureFilterTest, EmptyFilterIsEveryFrame) {
  absl::StatusOr<std::vector<sock_filter>> program = CompileCaptureFilter("", 65535);
  ASSERT_TRUE(program.ok()) << program.status();
  EXPECT_TRUE(program->empty());
  program = CompileCaptureFilter("  \t", 65535);
  ASSERT_TRUE(program.ok()) << program.status();
  EXPECT_TRUE(program->empty());
}

TEST(CompileCaptureFilterTest, IcmpLoadsTheEthertypeAndReturnsTheSnaplen) {
  absl::StatusOr<std::vector<sock_filter>> program = CompileCaptureFilter("icmp", 1500);
  ASSERT_TRUE(program.ok()) << program.status();
  ASSERT_FALSE(program->empty());
  // ldh [12]: the ethertype, first thing an Ethernet filter on IPv4 looks at.
  EXPECT_EQ((*program)[0].code, BPF_LD | BPF_H | BPF_ABS);
  EXPECT_EQ((*program)[0].k, 12u);
  // A match returns the snaplen, a miss 0.
  bool returns_snaplen = false;
  bool returns_zero = false;
  for (const sock_filter& insn : *program) {
    if (insn.code == (BPF_RET | BPF_K)) {
      returns_snaplen |= insn.k == 1500;
      returns_zero |= insn.k == 0;
    }
  }
  EXPECT_TRUE(returns_snaplen);
  EXPECT_TRUE(returns_zero);
}

TEST(CompileCaptureFilterTest, TcpdumpExpressions) {
  for (const char* filter : {"not arp", "host 10.0.0.1", "tcp port 22 and not host 10.1.1.1",
                             "ether host 02:00:00:01:00:01", "ip6", "vlan 10"}) {
    absl::StatusOr<std::vector<sock_filter>> program = CompileCaptureFilter(filter, 65535);
    ASSERT_TRUE(program.ok()) << filter << ": " << program.status();
    EXPECT_FALSE(program->empty()) << filter;
    EXPECT_LE(program->size(), static_cast<size_t>(BPF_MAXINSNS)) << filter;
  }
}

TEST(CompileCaptureFilterTest, BadFilterIsInvalidArgumentWithLibpcapsMessage) {
  absl::StatusOr<std::vector<sock_filter>> program = CompileCaptureFilter("hots 10.0.0.1", 65535);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(program.status().message(), HasSubstr("filter \"hots 10.0.0.1\": "));
  EXPECT_THAT(program.status().message(), HasSubstr("syntax error"));

  program = CompileCaptureFilter("port 99999", 65535);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(program.status().message(), HasSubstr("port"));
}

}  // namespace
}  // namespace clownix::server
