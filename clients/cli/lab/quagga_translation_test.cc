#include "clients/cli/lab/quagga_translation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

v1::GuestFile File(const std::string& path, const std::string& text) {
  v1::GuestFile file;
  file.set_path(path);
  file.set_text(text);
  return file;
}

TEST(QuaggaTranslationTest, ConfigurationBecomesFrrs) {
  std::vector<v1::GuestFile> files = {
      File("/etc/quagga/daemons", "zebra=yes\nbgpd=no\nospfd=yes\nripd=\"yes\"\n"),
      File("/etc/quagga/ospfd.conf",
           "hostname r1\npassword zebra\nenable password zebra\nrouter ospf\n network 10.0.0.0/8 "
           "area 0\nlog file /var/log/quagga/ospfd.log\n"),
      File("/etc/quagga/zebra.conf", "interface eth0\n ip address 10.0.0.1/24\n"),
      File("/etc/quagga/vtysh.conf", "service integrated-vtysh-config\n"),
      File("/etc/hosts", "127.0.0.1 localhost\n"),
  };
  QuaggaFiles result = TranslateQuaggaFiles(&files);
  EXPECT_TRUE(result.translated);
  EXPECT_THAT(result.daemons, ElementsAre("ospfd", "ripd"));
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path(), "/etc/hosts");
  EXPECT_EQ(files[1].path(), "/etc/frr/frr.conf");
  const std::string& conf = files[1].text();
  EXPECT_LT(conf.find("ip address 10.0.0.1/24"), conf.find("router ospf"));  // zebra.conf first
  EXPECT_THAT(conf, HasSubstr("log file /var/log/frr/ospfd.log"));
  EXPECT_THAT(conf, Not(HasSubstr("password")));
  EXPECT_THAT(conf, Not(HasSubstr("integrated")));
  EXPECT_EQ(FrrDaemonsCommands(result.daemons),
            "sed -i 's/^ospfd=no/ospfd=yes/' /etc/frr/daemons\n"
            "sed -i 's/^ripd=no/ripd=yes/' /etc/frr/daemons\n");
}

TEST(QuaggaTranslationTest, TheLabsOwnFrrFilesWin) {
  std::vector<v1::GuestFile> files = {
      File("/etc/quagga/daemons", "ospfd=yes\n"), File("/etc/quagga/ospfd.conf", "router ospf\n"),
      File("/etc/frr/frr.conf", "mine\n"), File("/etc/frr/daemons", "ospfd=yes\n")};
  QuaggaFiles result = TranslateQuaggaFiles(&files);
  EXPECT_THAT(result.daemons, IsEmpty());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].text(), "mine\n");
}

TEST(QuaggaTranslationTest, NoQuaggaNoChange) {
  std::vector<v1::GuestFile> files = {File("/etc/frr/frr.conf", "x\n")};
  EXPECT_FALSE(TranslateQuaggaFiles(&files).translated);
  EXPECT_EQ(files.size(), 1u);
}

TEST(QuaggaTranslationTest, StartCommandsStartFrr) {
  std::vector<std::string> notes;
  EXPECT_EQ(RewriteQuaggaCommands("ip addr add 10.0.0.1/24 dev eth0\n"
                                  "/etc/init.d/quagga start\n"
                                  "systemctl start quagga\n"
                                  "service quagga restart\n"
                                  "/etc/init.d/zebra start\n"
                                  "  /etc/init.d/ospfd start\n"
                                  "systemctl --no-block restart quagga.service\n",
                                  "r1.startup", &notes),
            "ip addr add 10.0.0.1/24 dev eth0\n"
            "/etc/init.d/frr start\n"
            "systemctl start frr\n"
            "service frr restart\n"
            "/etc/init.d/frr start\n"
            "  true  # clownix: FRR's start runs ospfd (was: /etc/init.d/ospfd start)\n"
            "systemctl --no-block restart frr\n");
  ASSERT_EQ(notes.size(), 6u);
  EXPECT_THAT(notes[0], HasSubstr("r1.startup:2: \"/etc/init.d/quagga start\" becomes "
                                  "\"/etc/init.d/frr start\""));
}

}  // namespace
}  // namespace clownix::cli
