#include "clients/common/channel_security.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::clients {
namespace {

using ::testing::HasSubstr;

class FakeEnv {
 public:
  explicit FakeEnv(std::map<std::string, std::string> values) : values_(std::move(values)) {}
  const char* operator()(const char* name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : it->second.c_str();
  }

 private:
  std::map<std::string, std::string> values_;
};

TEST(ChooseChannelSecurity, FlagsWinOverTheEnvironment) {
  FakeEnv env({{"CLOWNIX_CA", "/env/ca"},
               {"CLOWNIX_CERT", "/env/cert"},
               {"CLOWNIX_KEY", "/env/key"},
               {"CLOWNIX_TOKEN", "envtoken"},
               {"CLOWNIX_TOKEN_FILE", "/env/token"}});
  ChannelSecurity flags;
  flags.ca_file = "/flag/ca";
  ChannelSecurity chosen = ChooseChannelSecurity(flags, env);
  EXPECT_EQ(chosen.ca_file, "/flag/ca");
  EXPECT_EQ(chosen.cert_file, "/env/cert");
  EXPECT_EQ(chosen.key_file, "/env/key");
  EXPECT_EQ(chosen.token, "envtoken");
  EXPECT_EQ(chosen.token_file, "");
  // A token file given as a flag wins over the token variable.
  flags.token_file = "/flag/token";
  chosen = ChooseChannelSecurity(flags, env);
  EXPECT_EQ(chosen.token, "");
  EXPECT_EQ(chosen.token_file, "/flag/token");
}

TEST(ChooseChannelSecurity, EmptyVariablesAreUnset) {
  FakeEnv env({{"CLOWNIX_CA", ""}, {"CLOWNIX_TOKEN", ""}, {"CLOWNIX_TOKEN_FILE", "/env/token"}});
  ChannelSecurity chosen = ChooseChannelSecurity({}, env);
  EXPECT_EQ(chosen.ca_file, "");
  EXPECT_EQ(chosen.token, "");
  EXPECT_EQ(chosen.token_file, "/env/token");
  EXPECT_EQ(ChooseChannelSecurity({}, FakeEnv({})).token_file, "");
}

class MakeChannelCredentialsTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const char* tmp = getenv("TEST_TMPDIR");
    std::string path = std::string(tmp ? tmp : "/tmp") + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(MakeChannelCredentialsTest, PlainLocalOrTlsWithOrWithoutAToken) {
  ChannelSecurity security;
  EXPECT_NE(*MakeChannelCredentials("unix:/tmp/s.sock", security), nullptr);
  EXPECT_NE(*MakeChannelCredentials("127.0.0.1:7311", security), nullptr);
  security.token = "t0k3nt0k3nt0k3nt0k3n";
  EXPECT_NE(*MakeChannelCredentials("unix:/tmp/s.sock", security), nullptr);
  security.ca_file = Write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  EXPECT_NE(*MakeChannelCredentials("lab.example:7311", security), nullptr);
  // A unix socket does not read the TLS files: they may name a remote server's.
  security.ca_file = "/nonexistent/ca.pem";
  EXPECT_TRUE(MakeChannelCredentials("unix:/tmp/s.sock", security).ok());
  EXPECT_EQ(MakeChannelCredentials("lab.example:7311", security).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(MakeChannelCredentials("lab.example:7311", security).status().message(),
              HasSubstr("CA: "));
}

TEST_F(MakeChannelCredentialsTest, RefusesHalfAPairAndTwoTokens) {
  ChannelSecurity security;
  security.cert_file = Write("cert.pem", "x");
  EXPECT_THAT(MakeChannelCredentials("h:1", security).status().message(),
              HasSubstr("give both --cert and --key"));
  security = {};
  security.token = "a";
  security.token_file = Write("token", "b\n");
  EXPECT_EQ(MakeChannelCredentials("h:1", security).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MakeChannelCredentialsTest, ATokenFileGivesItsFirstLine) {
  ChannelSecurity security;
  security.token_file = Write("token", "  t0k3nt0k3nt0k3nt0k3n  \nrest\n");
  EXPECT_TRUE(MakeChannelCredentials("h:1", security).ok());
  security.token_file = Write("empty", "\n");
  EXPECT_THAT(MakeChannelCredentials("h:1", security).status().message(),
              HasSubstr("holds no token"));
  security.token_file = "/nonexistent/token";
  EXPECT_THAT(MakeChannelCredentials("h:1", security).status().message(),
              HasSubstr("token file: "));
}

}  // namespace
}  // namespace clownix::clients
