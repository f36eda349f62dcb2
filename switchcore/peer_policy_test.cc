#include "switchcore/peer_policy.h"

#include <sys/socket.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::switchcore {
namespace {

using ::testing::HasSubstr;

TEST(PeerPolicyTest, AcceptsRootSelfAndTheVmRangeOnly) {
  PeerPolicy policy(1000, UidRange{61000, 61009});
  EXPECT_TRUE(policy.Allows(0));
  EXPECT_TRUE(policy.Allows(1000));
  EXPECT_TRUE(policy.Allows(61000));
  EXPECT_TRUE(policy.Allows(61005));
  EXPECT_TRUE(policy.Allows(61009));
  EXPECT_FALSE(policy.Allows(60999));
  EXPECT_FALSE(policy.Allows(61010));
  EXPECT_FALSE(policy.Allows(65534));
  EXPECT_FALSE(policy.Allows(static_cast<uid_t>(-1)));
  EXPECT_TRUE(policy.Privileged(0));
  EXPECT_TRUE(policy.Privileged(1000));
  EXPECT_FALSE(policy.Privileged(61000));
}

TEST(PeerPolicyTest, WithoutARangeOnlyRootAndSelf) {
  PeerPolicy policy(0, std::nullopt);
  EXPECT_TRUE(policy.Allows(0));
  EXPECT_FALSE(policy.Allows(1));
  EXPECT_FALSE(policy.Allows(61000));
  EXPECT_EQ(policy.Describe(), "root");
}

TEST(PeerPolicyTest, ValidatesRanges) {
  EXPECT_TRUE(PeerPolicy::ValidateRange({61000, 61000}).ok());
  EXPECT_TRUE(PeerPolicy::ValidateRange({1, 4294967294u}).ok());
  EXPECT_EQ(PeerPolicy::ValidateRange({0, 10}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PeerPolicy::ValidateRange({10, 9}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PeerPolicy::ValidateRange({10, 4294967295u}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PeerPolicyTest, CountsEveryRefusalAndLogsEachUidOnce) {
  PeerPolicy policy(0, UidRange{61000, 61009});
  PeerCredentials intruder{123, 1001, 1001};
  std::optional<std::string> first = policy.OnRefused(intruder, "blue");
  ASSERT_TRUE(first.has_value());
  EXPECT_THAT(*first, HasSubstr("lan \"blue\""));
  EXPECT_THAT(*first, HasSubstr("uid 1001 (pid 123)"));
  EXPECT_THAT(*first, HasSubstr("root and VM uids 61000-61009"));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(policy.OnRefused(intruder, "red").has_value());
  EXPECT_TRUE(policy.OnRefused(PeerCredentials{124, 1002, 1002}, "blue").has_value());
  std::optional<std::string> unknown = policy.OnRefused(std::nullopt, "blue");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_THAT(*unknown, HasSubstr("credentials are unknown"));
  EXPECT_FALSE(policy.OnRefused(std::nullopt, "blue").has_value());
  EXPECT_EQ(policy.refused(), 104u);
}

TEST(PeerPolicyTest, RemembersABoundedNumberOfUids) {
  PeerPolicy policy(0, std::nullopt);
  int lines = 0;
  for (uid_t uid = 1; uid <= PeerPolicy::kRememberedUids + 500; ++uid) {
    if (policy.OnRefused(PeerCredentials{1, uid, uid}, "blue").has_value()) ++lines;
  }
  // One line per remembered uid, then one saying the rest go unlogged.
  EXPECT_EQ(lines, PeerPolicy::kRememberedUids + 1);
  EXPECT_EQ(policy.refused(), PeerPolicy::kRememberedUids + 500u);
}

TEST(PeerPolicyTest, ReadsTheKernelsCredentials) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  absl::StatusOr<PeerCredentials> cred = PeerPolicy::Credentials(sv[0]);
  ASSERT_TRUE(cred.ok()) << cred.status();
  EXPECT_EQ(cred->pid, getpid());
  EXPECT_EQ(cred->uid, geteuid());
  EXPECT_EQ(cred->gid, getegid());
  close(sv[0]);
  close(sv[1]);
  EXPECT_FALSE(PeerPolicy::Credentials(-1).ok());
}

}  // namespace
}  // namespace clownix::switchcore
