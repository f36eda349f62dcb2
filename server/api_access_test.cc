#include "server/api_access.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

TEST(TokenlessRole, FollowsTheListenerTable) {
  ServerOptions options;
  // No tokens file: whoever the transport lets in is admin.
  for (Listener listener : {Listener::kUnixSocket, Listener::kTls, Listener::kInsecureTcp}) {
    EXPECT_EQ(TokenlessRole(listener, options), Role::kAdmin);
  }
  options.socket_group = "lab";
  EXPECT_EQ(TokenlessRole(Listener::kUnixSocket, options), Role::kAdmin);
  // With tokens, only the owner-only socket trusts its callers.
  options.tokens_file = "/etc/clownix/tokens";
  options.socket_group = "";
  EXPECT_EQ(TokenlessRole(Listener::kUnixSocket, options), Role::kAdmin);
  EXPECT_EQ(TokenlessRole(Listener::kTls, options), std::nullopt);
  EXPECT_EQ(TokenlessRole(Listener::kInsecureTcp, options), std::nullopt);
  options.socket_group = "lab";
  EXPECT_EQ(TokenlessRole(Listener::kUnixSocket, options), std::nullopt);
}

class ApiAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/clownix-access.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    options_.work_dir = dir;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + options_.work_dir + "'";
    ASSERT_EQ(system(cmd.c_str()), 0);
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = options_.work_dir + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  ServerOptions options_;
};

TEST_F(ApiAccessTest, AnUnknownGroupIsRefusedByName) {
  options_.socket_group = "no-such-group-clownix";
  absl::StatusOr<std::unique_ptr<ApiAccess>> access = ApiAccess::Create(options_);
  ASSERT_FALSE(access.ok());
  EXPECT_EQ(access.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(access.status().message().find("\"no-such-group-clownix\": no such group"),
            std::string::npos)
      << access.status().message();
}

TEST_F(ApiAccessTest, TlsFilesMustBePem) {
  options_.listen = "127.0.0.1:0";
  options_.tls_cert = options_.work_dir + "/missing.pem";
  options_.tls_key = Write("key.pem", "-----BEGIN PRIVATE KEY-----\n");
  options_.client_ca = Write("ca.pem", "not pem");
  absl::StatusOr<std::unique_ptr<ApiAccess>> access = ApiAccess::Create(options_);
  EXPECT_EQ(access.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(access.status().message().find("--tls_cert"), std::string::npos);
  options_.tls_cert = options_.tls_key;
  access = ApiAccess::Create(options_);
  EXPECT_EQ(access.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(access.status().message().find("--client_ca"), std::string::npos);
}

TEST_F(ApiAccessTest, ABadTokensFileStopsCreate) {
  options_.tokens_file = Write("tokens", "viewer alice aaaaaaaaaaaaaaaaaaaa\n");
  ASSERT_EQ(chmod(options_.tokens_file.c_str(), 0644), 0);
  EXPECT_EQ(ApiAccess::Create(options_).status().code(), absl::StatusCode::kPermissionDenied);
  ASSERT_EQ(chmod(options_.tokens_file.c_str(), 0600), 0);
  absl::StatusOr<std::unique_ptr<ApiAccess>> access = ApiAccess::Create(options_);
  ASSERT_TRUE(access.ok()) << access.status();
  EXPECT_NE((*access)->Describe(0).find("1 tokens"), std::string::npos);
}

TEST_F(ApiAccessTest, TheSocketIsOwnerOnlyOrOpenToItsGroup) {
  std::string socket = Write("clownixd.sock", "");
  ASSERT_EQ(chmod(socket.c_str(), 0644), 0);
  absl::StatusOr<std::unique_ptr<ApiAccess>> access = ApiAccess::Create(options_);
  ASSERT_TRUE(access.ok()) << access.status();
  ASSERT_TRUE((*access)->SecureSocket().ok());
  struct stat st;
  ASSERT_EQ(stat(socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  // A group this process may give files to: its own (any group, as root).
  gid_t gid = getegid();
  struct group* group = getgrgid(gid);
  if (group == nullptr) GTEST_SKIP() << "gid " << gid << " has no name";
  options_.socket_group = group->gr_name;
  ASSERT_EQ(chmod(options_.work_dir.c_str(), 0700), 0);
  access = ApiAccess::Create(options_);
  ASSERT_TRUE(access.ok()) << access.status();
  ASSERT_TRUE((*access)->SecureSocket().ok());
  ASSERT_EQ(stat(socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660);
  EXPECT_EQ(st.st_gid, gid);
  // The group can reach the socket: it may traverse the work dir, not list it.
  ASSERT_EQ(stat(options_.work_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0710);
  EXPECT_EQ(st.st_gid, gid);
}

}  // namespace
}  // namespace clownix::server
