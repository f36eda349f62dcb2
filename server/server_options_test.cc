#include "server/server_options.h"

#include "gtest/gtest.h"

namespace clownix::server {
namespace {

TEST(ResolveServerOptions, SeedPositionalFormMapsOntoOptions) {
  auto options = ResolveServerOptions(
      {}, {"4500", "2", "1.1.1.1", "/tmp/clownix", "./bulk", "id_rsa.pub", "id_rsa"});
  ASSERT_TRUE(options.ok()) << options.status();
  // The seed's port: plaintext, on loopback.
  EXPECT_EQ(options->insecure_listen, "127.0.0.1:4500");
  EXPECT_EQ(options->listen, "");
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
  options->insecure_listen.clear();
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
  flags.insecure_listen = "4501";
  auto options = ResolveServerOptions(flags, {});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->insecure_listen, "127.0.0.1:4501");
  EXPECT_EQ(options->work_dir, "/w");
  flags.insecure_listen = "[::1]:4501";
  EXPECT_EQ(ResolveServerOptions(flags, {})->insecure_listen, "[::1]:4501");
  flags.insecure_listen = "";
  flags.listen = "4502";
  flags.tls_cert = "c.pem";
  flags.tls_key = "k.pem";
  flags.client_ca = "ca.pem";
  EXPECT_EQ(ResolveServerOptions(flags, {})->listen, "127.0.0.1:4502");
}

TEST(ResolveServerOptions, PlaintextIsOnlyServedOnLoopback) {
  ServerOptions flags;
  flags.work_dir = "/w";
  for (const char* loopback : {"127.0.0.1:1", "[::1]:7311", "localhost:7311"}) {
    flags.insecure_listen = loopback;
    EXPECT_TRUE(ResolveServerOptions(flags, {}).ok()) << loopback;
  }
  for (const char* open : {"0.0.0.0:7311", "[::]:7311", "10.0.0.1:7311", "example.org:7311",
                           "[::ffff:127.0.0.1]:7311", "128.0.0.1:7311", "127.0.0.2:7311"}) {
    flags.insecure_listen = open;
    auto options = ResolveServerOptions(flags, {});
    ASSERT_FALSE(options.ok()) << open;
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(options.status().message().find("is not a loopback address"), std::string::npos)
        << options.status().message();
  }
}

TEST(ResolveServerOptions, TheTlsListenerNeedsItsFilesAndAWayToTellClientsApart) {
  ServerOptions flags;
  flags.work_dir = "/w";
  flags.listen = "0.0.0.0:7311";
  auto options = ResolveServerOptions(flags, {});
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.status().message().find("give --tls_cert and --tls_key"), std::string::npos)
      << options.status().message();
  // On loopback the message points at the plaintext flag.
  flags.listen = "127.0.0.1:7311";
  EXPECT_NE(ResolveServerOptions(flags, {}).status().message().find(
                "use --insecure_listen 127.0.0.1:7311"),
            std::string::npos);
  flags.listen = "0.0.0.0:7311";
  flags.tls_cert = "c.pem";
  flags.tls_key = "k.pem";
  options = ResolveServerOptions(flags, {});
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.status().message().find("anyone who reaches it in as admin"), std::string::npos)
      << options.status().message();
  flags.client_ca = "ca.pem";
  EXPECT_TRUE(ResolveServerOptions(flags, {}).ok());
  flags.client_ca = "";
  flags.tokens_file = "tokens";
  EXPECT_TRUE(ResolveServerOptions(flags, {}).ok());
  flags.insecure_listen = "127.0.0.1:7312";
  EXPECT_FALSE(ResolveServerOptions(flags, {}).ok());
}

TEST(ResolveServerOptions, TlsFilesWithoutTheTlsListenerAreRefused) {
  ServerOptions flags;
  flags.work_dir = "/w";
  flags.client_ca = "ca.pem";
  auto options = ResolveServerOptions(flags, {});
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.status().message().find("--client_ca is for the TLS listener"),
            std::string::npos)
      << options.status().message();
}

TEST(OptionWarnings, EveryoneIsAdminWithoutTokensIsSaid) {
  ServerOptions options;
  options.socket_group = "lab";
  options.insecure_listen = "127.0.0.1:7311";
  std::vector<std::string> warnings = OptionWarnings(options);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("every member of the group is admin"), std::string::npos);
  EXPECT_NE(warnings[1].find("every user of this host is admin"), std::string::npos);
  options.tokens_file = "tokens";
  EXPECT_TRUE(OptionWarnings(options).empty());
}

TEST(ResolveServerOptions, BadValuesAreNamed) {
  ServerOptions flags;
  flags.work_dir = "/w";
  flags.insecure_listen = "70000";
  auto bad_port = ResolveServerOptions(flags, {});
  EXPECT_EQ(bad_port.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_port.status().message().find("70000"), std::string::npos);
  flags.insecure_listen = "";
  flags.ip_admin = "1.2.3";
  EXPECT_FALSE(ResolveServerOptions(flags, {}).ok());
  flags.ip_admin = "";
  EXPECT_FALSE(ResolveServerOptions(flags, {"4500", "2"}).ok());
  EXPECT_FALSE(ResolveServerOptions({}, {}).ok());
  flags.work_dir = "/" + std::string(61, 'd');
  EXPECT_FALSE(ResolveServerOptions(flags, {}).ok());
  flags.work_dir = "/w";
  flags.default_image = "../debian";
  auto bad_image = ResolveServerOptions(flags, {});
  EXPECT_EQ(bad_image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_image.status().message().find("--default_image"), std::string::npos);
}

TEST(ResolveServerOptions, VmUsersLieAboveSystemUsersAndBelowTwoToThe31) {
  ServerOptions flags;
  flags.work_dir = "/w";
  EXPECT_EQ(flags.vm_uid_base, 2100000000u);
  EXPECT_TRUE(ResolveServerOptions(flags, {}).ok());
  for (uint32_t fine : {0u, 1000u, 2147473648u}) {
    flags.vm_uid_base = fine;
    EXPECT_TRUE(ResolveServerOptions(flags, {}).ok()) << fine;
  }
  for (uint32_t bad : {1u, 999u, 2147473649u, 4294967295u}) {
    flags.vm_uid_base = bad;
    absl::StatusOr<ServerOptions> refused = ResolveServerOptions(flags, {});
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(refused.status().message().find("vm_uid_base"), std::string::npos);
  }
}

}  // namespace
}  // namespace clownix::server
