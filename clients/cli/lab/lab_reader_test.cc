#include "clients/cli/lab/lab_reader.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// A lab directory written by the test, removed afterwards.
class LabDir {
 public:
  explicit LabDir(const std::string& name) {
    const char* tmp = getenv("TEST_TMPDIR");
    root_ = fs::path(tmp != nullptr ? tmp : "/tmp") / name;
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~LabDir() { fs::remove_all(root_); }

  void Write(const std::string& path, const std::string& contents, int mode = 0644) {
    const fs::path full = root_ / path;
    fs::create_directories(full.parent_path());
    std::ofstream(full, std::ios::binary) << contents;
    chmod(full.c_str(), mode);
  }
  std::string path() const { return root_.string(); }

 private:
  fs::path root_;
};

const v1::Vm* FindVm(const Lab& lab, const std::string& name) {
  for (const v1::Vm& vm : lab.network.vms()) {
    if (vm.name() == name) return &vm;
  }
  return nullptr;
}

const v1::GuestFile* FindFile(const v1::Vm& vm, const std::string& path) {
  for (const v1::GuestFile& file : vm.guest().files()) {
    if (file.path() == path) return &file;
  }
  return nullptr;
}

std::vector<std::string> Links(const Lab& lab) {
  std::vector<std::string> links;
  for (const v1::Link& link : lab.network.links()) {
    links.push_back(link.endpoint().has_tap()
                        ? absl::StrCat("tap:", link.endpoint().tap(), "->", link.lan())
                        : absl::StrCat(link.endpoint().nic().vm(), "/",
                                       link.endpoint().nic().index(), "->", link.lan()));
  }
  return links;
}

TEST(LabReaderTest, AKatharaLab) {
  LabDir dir("kathara_lab");
  dir.Write("lab.conf",
            "LAB_DESCRIPTION=\"two routers\"\n"
            "LAB_VERSION=1.0\n"
            "r1[0]=\"A\"\n"
            "r1[1]=\"B/02:42:0a:00:00:01\"\n"
            "r1[image]=\"kathara/frr\"\n"
            "r1[mem]=\"256m\"\n"
            "r1[sysctl]=\"net.ipv4.conf.all.accept_redirects=0\"\n"
            "r1[env]=\"GREETING=it's me\"\n"
            "r1[exec]=\"ip route add 10.9.0.0/16 via 10.0.1.2\"\n"
            "r1[exec]=\"echo done\"\n"
            "r1[ipv6]=false\n"
            "r1[cpus]=2\n"
            "r1[num_terms]=0\n"
            "r1[port]=\"8080:80\"\n"
            "r1[shell]=\"/bin/sh\"\n"
            "r1[colour]=blue\n"
            "h1[0]=\"A\"\n"
            "h1[mem]=1g\n");
  dir.Write("shared.startup", "echo shared\r\n");
  dir.Write("r1.startup", "ip addr add 10.0.0.1/24 dev eth0\n");
  dir.Write("r1.shutdown", "echo bye\n");
  dir.Write("r1/etc/frr/frr.conf", "router ospf\n");
  dir.Write("r1/usr/local/bin/tool", "#!/bin/sh\n", 0755);
  dir.Write("h1/bin.dat", std::string("\x00\x01\xff", 3));
  absl::StatusOr<Lab> lab = ReadLab(dir.path());
  ASSERT_TRUE(lab.ok()) << lab.status();
  EXPECT_EQ(lab->name, "kathara_lab");
  EXPECT_EQ(lab->metadata.at("LAB_DESCRIPTION"), "two routers");
  EXPECT_THAT(lab->machines, ElementsAre("r1", "h1"));
  EXPECT_THAT(lab->waves, ElementsAre(ElementsAre("r1", "h1")));
  EXPECT_THAT(Links(*lab), ElementsAre("r1/0->a", "r1/1->b", "h1/0->a"));
  ASSERT_EQ(lab->network.lans_size(), 2);
  EXPECT_EQ(lab->network.lans(0).labels().at(kLabLabel), "kathara_lab");

  const v1::Vm& r1 = *FindVm(*lab, "r1");
  EXPECT_FALSE(r1.admin());
  EXPECT_EQ(r1.image(), "debian");
  EXPECT_EQ(r1.mem_mib(), 256u);
  EXPECT_EQ(r1.nic_count(), 2u);
  EXPECT_EQ(r1.nic_macs().at(1), "02:42:0a:00:00:01");
  EXPECT_EQ(r1.labels().at(kLabLabel), "kathara_lab");
  const auto& sysctls = r1.guest().sysctls();
  EXPECT_EQ(sysctls.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(sysctls.at("net.ipv6.conf.all.forwarding"), "1");
  EXPECT_EQ(sysctls.at("net.ipv4.conf.all.rp_filter"), "0");
  EXPECT_EQ(sysctls.at("net.ipv4.conf.default.rp_filter"), "0");
  EXPECT_EQ(sysctls.at("net.ipv4.icmp_ratelimit"), "0");
  EXPECT_EQ(sysctls.at("net.ipv4.conf.all.accept_redirects"), "0");
  EXPECT_EQ(sysctls.at("net.ipv6.conf.all.disable_ipv6"), "1");

  const std::string& startup = r1.guest().startup();
  EXPECT_EQ(startup.rfind("#!/bin/bash\n", 0), 0u);
  EXPECT_THAT(startup, HasSubstr("export GREETING='it'\\''s me'\n"));
  EXPECT_THAT(startup, HasSubstr("chown -R frr:frr /etc/frr"));
  EXPECT_THAT(startup,
              HasSubstr("for nic in eth0 eth1; do ip link set dev $nic up 2>/dev/null; done\n"));
  const size_t shared = startup.find("echo shared\n");
  const size_t own = startup.find("ip addr add 10.0.0.1/24 dev eth0");
  const size_t exec = startup.find("ip route add 10.9.0.0/16 via 10.0.1.2\necho done\n");
  ASSERT_NE(shared, std::string::npos);
  ASSERT_NE(own, std::string::npos);
  ASSERT_NE(exec, std::string::npos);
  EXPECT_LT(shared, own);
  EXPECT_LT(own, exec);
  EXPECT_THAT(startup, HasSubstr("set -x"));
  EXPECT_THAT(startup, Not(HasSubstr("\r")));
  EXPECT_THAT(r1.guest().shutdown(), HasSubstr("echo bye"));

  ASSERT_NE(FindFile(r1, "/etc/frr/frr.conf"), nullptr);
  EXPECT_EQ(FindFile(r1, "/usr/local/bin/tool")->mode(), "0755");
  const v1::Vm& h1 = *FindVm(*lab, "h1");
  EXPECT_EQ(h1.mem_mib(), 1024u);
  EXPECT_EQ(FindFile(h1, "/bin.dat")->data(), std::string("\x00\x01\xff", 3));
  EXPECT_THAT(h1.guest().startup(), HasSubstr("echo shared"));
  EXPECT_THAT(h1.guest().startup(), Not(HasSubstr("chown")));

  const std::string warnings = absl::StrJoin(lab->warnings, "\n");
  EXPECT_THAT(warnings, HasSubstr("lab.conf:12: r1[cpus] does not apply: a UML VM has one CPU"));
  EXPECT_THAT(warnings, HasSubstr("lab.conf:13: r1[num_terms] does not apply"));
  EXPECT_THAT(warnings, HasSubstr("lab.conf:14: r1[port] does not apply"));
  EXPECT_THAT(warnings, HasSubstr("lab.conf:15: r1[shell] does not apply"));
  EXPECT_THAT(warnings, HasSubstr("lab.conf:16: r1[colour]: unknown option, ignored"));
}

TEST(LabReaderTest, NetkitUpperCaseNamesAndOptions) {
  LabDir dir("netkit_lab");
  dir.Write("lab.conf",
            "LAB_NAME=Big Lab\n"
            "PC1[0]=LAN_A\n"
            "PC1[M]=64\n"
            "PC1[con0]=xterm\n"
            "Router[0]=LAN_A\n"
            "Router[2]=lan_b\n");
  dir.Write("PC1.startup", "ifconfig eth0 10.0.0.2 up\n");
  dir.Write("PC1/etc/motd", "hello\n");
  absl::StatusOr<Lab> lab = ReadLab(dir.path());
  ASSERT_TRUE(lab.ok()) << lab.status();
  EXPECT_EQ(lab->name, "Big_Lab");
  EXPECT_THAT(lab->machines, ElementsAre("pc1", "router"));
  EXPECT_EQ(lab->original_names.at("pc1"), "PC1");
  EXPECT_THAT(Links(*lab), ElementsAre("pc1/0->lan_a", "router/0->lan_a", "router/2->lan_b"));
  const v1::Vm& pc1 = *FindVm(*lab, "pc1");
  EXPECT_EQ(pc1.mem_mib(), 64u);
  EXPECT_THAT(pc1.guest().startup(), HasSubstr("ifconfig eth0 10.0.0.2 up"));
  EXPECT_NE(FindFile(pc1, "/etc/motd"), nullptr);
  EXPECT_EQ(FindVm(*lab, "router")->nic_count(), 3u);
  const std::string warnings = absl::StrJoin(lab->warnings, "\n");
  EXPECT_THAT(warnings, HasSubstr("lab.conf:2: machine \"PC1\" is \"pc1\" in clownix"));
  EXPECT_THAT(warnings, HasSubstr("lab.conf:2: collision domain \"LAN_A\" is LAN \"lan_a\""));
  EXPECT_THAT(warnings, HasSubstr("lab.conf:4: PC1[con0] does not apply"));
}

TEST(LabReaderTest, NamesThatMeetAreAnError) {
  LabDir dir("clash");
  dir.Write("lab.conf", "pc[0]=A\nPC[0]=A\n");
  EXPECT_THAT(ReadLab(dir.path()).status().message(),
              HasSubstr("lab.conf:2: machines \"pc\" and \"PC\" would both be \"pc\""));
}

TEST(LabReaderTest, WithoutLabConfEachDirectoryIsAMachine) {
  LabDir dir("folders");
  dir.Write("pc1/etc/hostname", "pc1\n");
  dir.Write("pc2/etc/hostname", "pc2\n");
  dir.Write("shared/etc/common", "both\n");
  dir.Write("_test/x", "not a machine\n");
  absl::StatusOr<Lab> lab = ReadLab(dir.path());
  ASSERT_TRUE(lab.ok()) << lab.status();
  EXPECT_THAT(lab->machines, ElementsAre("pc1", "pc2"));
  EXPECT_EQ(lab->network.links_size(), 0);
  EXPECT_THAT(absl::StrJoin(lab->warnings, "\n"), HasSubstr("no machine is linked"));
}

TEST(LabReaderTest, SharedFilesGoToRootAndSharedAndOwnFilesWin) {
  LabDir dir("shared");
  dir.Write("lab.conf", "a[0]=X\nb[0]=X\n");
  dir.Write("shared/etc/resolv.conf", "nameserver 1.1.1.1\n");
  dir.Write("shared/data/x", "shared x\n");
  dir.Write("a/etc/resolv.conf", "nameserver 9.9.9.9\n");
  dir.Write("stray/file", "x\n");
  dir.Write("nobody.startup", "x\n");
  absl::StatusOr<Lab> lab = ReadLab(dir.path());
  ASSERT_TRUE(lab.ok()) << lab.status();
  const v1::Vm& a = *FindVm(*lab, "a");
  const v1::Vm& b = *FindVm(*lab, "b");
  EXPECT_EQ(FindFile(a, "/etc/resolv.conf")->text(), "nameserver 9.9.9.9\n");
  EXPECT_EQ(FindFile(b, "/etc/resolv.conf")->text(), "nameserver 1.1.1.1\n");
  EXPECT_EQ(FindFile(a, "/shared/etc/resolv.conf")->text(), "nameserver 1.1.1.1\n");
  EXPECT_EQ(FindFile(b, "/shared/data/x")->text(), "shared x\n");
  EXPECT_EQ(FindFile(a, "/data/x")->text(), "shared x\n");
  const std::string warnings = absl::StrJoin(lab->warnings, "\n");
  EXPECT_THAT(warnings, HasSubstr("stray/: not a machine of lab.conf"));
  EXPECT_THAT(warnings, HasSubstr("nobody.startup: not a machine of lab.conf"));
}

TEST(LabReaderTest, AScriptLinkedOutOfTheLabIsAnErrorOneInsideIsRead) {
  LabDir dir("links");
  dir.Write("lab.conf", "a[0]=X\nb[0]=X\n");
  dir.Write("a.startup", "ip link set eth0 up\n");
  fs::create_symlink("a.startup", fs::path(dir.path()) / "b.startup");
  absl::StatusOr<Lab> lab = ReadLab(dir.path());
  ASSERT_TRUE(lab.ok()) << lab.status();
  EXPECT_THAT(FindVm(*lab, "b")->guest().startup(), HasSubstr("ip link set eth0 up"));
  fs::create_symlink("/etc/passwd", fs::path(dir.path()) / "b.shutdown");
  absl::StatusOr<Lab> refused = ReadLab(dir.path());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("b.shutdown: a symbolic link out of the lab directory (to /etc/passwd)"));
}

TEST(LabReaderTest, LabDepGivesWavesAndErrors) {
  LabDir dir("dep");
  dir.Write("lab.conf", "h1[0]=A\nr1[0]=A\nR2[0]=A\n");
  dir.Write("lab.dep", "h1: r1 R2\nR2: r1\n");
  absl::StatusOr<Lab> lab = ReadLab(dir.path());
  ASSERT_TRUE(lab.ok()) << lab.status();
  EXPECT_THAT(lab->waves, ElementsAre(ElementsAre("r1"), ElementsAre("r2"), ElementsAre("h1")));

  dir.Write("lab.dep", "h1: r1\nr1: h1\n");
  EXPECT_THAT(ReadLab(dir.path()).status().message(), HasSubstr("lab.dep:1: a dependency cycle"));
  dir.Write("lab.dep", "h1: r9\n");
  EXPECT_THAT(ReadLab(dir.path()).status().message(),
              HasSubstr("lab.dep:1: unknown machine \"r9\""));
}

TEST(LabReaderTest, BadDevIndexAndBadMemAreErrors) {
  LabDir dir("bad");
  dir.Write("lab.conf", "r1[0]=A\nr1[9]=B\n");
  EXPECT_THAT(ReadLab(dir.path()).status().message(), HasSubstr("lab.conf:2: r1[9]"));
  dir.Write("lab.conf", "r1[0]=A\nr1[mem]=lots\n");
  EXPECT_THAT(ReadLab(dir.path()).status().message(),
              HasSubstr("lab.conf:2: r1[mem]=\"lots\" is not a memory size"));
}

TEST(LabReaderTest, TooManyBytesNamesTheMachineAndTheBiggestFiles) {
  LabDir dir("big");
  dir.Write("lab.conf", "r1[0]=A\n");
  dir.Write("r1/big1", std::string(200 * 1024, 'x'));
  dir.Write("r1/big2", std::string(100 * 1024, 'y'));
  dir.Write("r1/small", "z");
  absl::Status status = ReadLab(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("machine r1: its files and scripts are 3 files"));
  EXPECT_THAT(status.message(), HasSubstr("The biggest: r1/big1 (200 KiB), r1/big2 (100 KiB)"));
}

TEST(LabReaderTest, BridgedAndImages) {
  LabDir dir("bridged");
  dir.Write("lab.conf",
            "r1[0]=A\nr1[1]=B\nr1[bridged]=true\nr1[image]=kathara/quagga:latest\n"
            "h1[0]=A\nh1[bridged]=\"True\"\nh1[image]=someone/custom\nh2[0]=B\n"
            "h2[image]=kathara/base\n");
  absl::StatusOr<Lab> lab = ReadLab(dir.path());
  ASSERT_TRUE(lab.ok()) << lab.status();
  EXPECT_EQ(FindVm(*lab, "r1")->nic_count(), 3u);
  EXPECT_EQ(FindVm(*lab, "h1")->nic_count(), 2u);
  EXPECT_EQ(FindVm(*lab, "h1")->image(), "debian");
  ASSERT_EQ(lab->network.taps_size(), 1);
  const std::string tap = lab->network.taps(0).name();
  EXPECT_LE(tap.size(), 15u);
  ASSERT_EQ(lab->network.lans_size(), 3);
  const std::string bridge = lab->network.lans(2).name();
  EXPECT_THAT(Links(*lab), Contains(absl::StrCat("tap:", tap, "->", bridge)));
  EXPECT_THAT(Links(*lab), Contains(absl::StrCat("r1/2->", bridge)));
  EXPECT_THAT(Links(*lab), Contains(absl::StrCat("h1/1->", bridge)));
  const std::string warnings = absl::StrJoin(lab->warnings, "\n");
  EXPECT_THAT(warnings, HasSubstr("lab.conf:7: h1: image \"someone/custom\" is not one clownix "
                                  "knows: it runs on the debian image"));
  EXPECT_THAT(warnings, HasSubstr("lab.conf:4: r1: image \"kathara/quagga:latest\" runs on"));
  EXPECT_THAT(warnings, Not(HasSubstr("kathara/base")));
}

TEST(LabReaderTest, AQuaggaLabRunsOnFrr) {
  LabDir dir("quagga");
  dir.Write("lab.conf", "r1[0]=A\nr1[image]=kathara/quagga\n");
  dir.Write("r1/etc/quagga/daemons", "zebra=yes\nospfd=yes\n");
  dir.Write("r1/etc/quagga/ospfd.conf", "router ospf\n network 10.0.0.0/8 area 0\n");
  dir.Write("r1.startup", "ip addr add 10.0.0.1/24 dev eth0\n/etc/init.d/quagga start\n");
  absl::StatusOr<Lab> lab = ReadLab(dir.path());
  ASSERT_TRUE(lab.ok()) << lab.status();
  const v1::Vm& r1 = *FindVm(*lab, "r1");
  EXPECT_EQ(FindFile(r1, "/etc/quagga/ospfd.conf"), nullptr);
  ASSERT_NE(FindFile(r1, "/etc/frr/frr.conf"), nullptr);
  EXPECT_THAT(FindFile(r1, "/etc/frr/frr.conf")->text(), HasSubstr("router ospf"));
  const std::string& startup = r1.guest().startup();
  EXPECT_THAT(startup, HasSubstr("sed -i 's/^ospfd=no/ospfd=yes/' /etc/frr/daemons"));
  EXPECT_THAT(startup, HasSubstr("/etc/init.d/frr start"));
  EXPECT_LT(startup.find("chown -R frr:frr"), startup.find("/etc/init.d/frr start"));
  EXPECT_THAT(absl::StrJoin(lab->warnings, "\n"),
              HasSubstr("r1.startup:2: \"/etc/init.d/quagga start\" becomes"));
}

TEST(LabReaderTest, NotADirectory) {
  EXPECT_EQ(ReadLab("/nonexistent/lab").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace clownix::cli
