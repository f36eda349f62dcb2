#include "server/server_options.h"

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

TEST(ResolveServerOptions, SeedPositionalFormMapsOntoOptions) {
  auto options = ResolveServerOptions(
      {}, {"4500", "2", "1.1.1.1", "/tmp/clownix", "./bulk", "id_rsa.pub", "id_rsa"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->listen, "127.0.0.1:4500");
  EXPECT_EQ(options->num_tap, 2u);
  EXPECT_EQ(options->work_dir, "/tmp/clownix");
  EXPECT_EQ(options->socket_path(), "/tmp/clownix/clownixd.sock");
  EXPECT_EQ(options->rsa_private, "id_rsa");
  ASSERT_TRUE(options->admin_prefix());
  EXPECT_EQ(options->admin_prefix()->first, 1);
}

TEST(OptionWarnings, RsaPrivateIsAcceptedAndIgnoredWithAWarning) {
  auto options = ResolveServerOptions(
      {}, {"4500", "2", "1.1.1.1", "/tmp/clownix", "./bulk", "id_rsa.pub", "id_rsa"});
  ASSERT_TRUE(options.ok()) << options.status();
  std::vector<std::string> warnings = OptionWarnings(*options);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("rsa_private \"id_rsa\""), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("ignored"), std::string::npos) << warnings[0];
  options->rsa_private.clear();
  EXPECT_TRUE(OptionWarnings(*options).empty());
}

TEST(ResolveServerOptions, BarePortListensOnLoopback) {
  ServerOptions flags;
  flags.work_dir = "/w/";
  flags.listen = "4501";
  auto options = ResolveServerOptions(flags, {});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->listen, "127.0.0.1:4501");
  EXPECT_EQ(options->work_dir, "/w");
  flags.listen = "[::1]:4501";
  EXPECT_EQ(ResolveServerOptions(flags, {})->listen, "[::1]:4501");
}

TEST(ResolveServerOptions, BadValuesAreNamed) {
  ServerOptions flags;
  flags.work_dir = "/w";
  flags.listen = "70000";
  auto bad_port = ResolveServerOptions(flags, {});
  EXPECT_EQ(bad_port.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_port.status().message().find("70000"), std::string::npos);
  flags.listen = "";
  flags.ip_admin = "1.2.3";
  EXPECT_FALSE(ResolveServerOptions(flags, {}).ok());
  flags.ip_admin = "";
  EXPECT_FALSE(ResolveServerOptions(flags, {"4500", "2"}).ok());
  EXPECT_FALSE(ResolveServerOptions({}, {}).ok());
  flags.work_dir = "/" + std::string(61, 'd');
  EXPECT_FALSE(ResolveServerOptions(flags, {}).ok());
}

}  // namespace
}  // namespace clownix::server
