#include "vmm/uml_command_line.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;

UmlCommandLine::Params Base() {
  UmlCommandLine::Params p;
  p.kernel = "/usr/bin/linux.uml";
  p.mem_mib = 64;
  p.uml_dir = "/w/uml";
  p.umid = "vm1";
  p.cow_path = "/w/vms/vm1/cow";
  p.root_fs = "/bulk/rootfs.img";
  p.config_disk = "/w/vms/vm1/config.img";
  p.notify_socket = "/w/notify";
  p.nics = {{0, "02:00:00:01:00:00", "/w/lans/admin/ctl"}};
  return p;
}

TEST(UmlCommandLineTest, SeedParameterList) {
  auto argv = UmlCommandLine::Build(Base());
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(*argv,
              ElementsAre("/usr/bin/linux.uml", "mem=64M", "uml_dir=/w/uml", "umid=vm1",
                          "ubdac=/w/vms/vm1/cow,/bulk/rootfs.img", "ubdb=/w/vms/vm1/config.img",
                          "root=/dev/ubda", "mconsole=notify:/w/notify", "con=null",
                          "con0=fd:3,fd:3", "ssl=null", "ssl1=fd:5,fd:5", "quiet",
                          "pty.legacy_count=0", "initcall_blacklist=raid6_select_algo",
                          "eth0=daemon,02:00:00:01:00:00,unix,/w/lans/admin/ctl"));
}

TEST(UmlCommandLineTest, RootFsModeHasNoCow) {
  auto p = Base();
  p.cow_path.clear();
  auto argv = UmlCommandLine::Build(p);
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ((*argv)[4], "ubda=/bulk/rootfs.img");
}

TEST(UmlCommandLineTest, LearntLpjSkipsCalibration) {
  auto p = Base();
  p.lpj = 17883136;
  auto argv = UmlCommandLine::Build(p);
  ASSERT_TRUE(argv.ok());
  EXPECT_THAT(*argv, Contains("lpj=17883136"));
}

TEST(UmlCommandLineTest, RejectsWhatUmlCannotTake) {
  auto p = Base();
  p.mem_mib = 32;
  EXPECT_EQ(UmlCommandLine::Build(p).status().code(), absl::StatusCode::kInvalidArgument);
  p = Base();
  p.root_fs = "/bulk/root,fs.img";
  EXPECT_EQ(UmlCommandLine::Build(p).status().code(), absl::StatusCode::kInvalidArgument);
  p = Base();
  p.nics.push_back({8, "02:00:00:01:00:08", "/w/ctl"});
  EXPECT_EQ(UmlCommandLine::Build(p).status().code(), absl::StatusCode::kInvalidArgument);
  p = Base();
  p.nics.push_back({0, "02:00:00:01:00:00", "/w/ctl2"});
  EXPECT_EQ(UmlCommandLine::Build(p).status().code(), absl::StatusCode::kInvalidArgument);
  p = Base();
  p.nics[0].ctl_path = "/" + std::string(120, 'x');
  EXPECT_EQ(UmlCommandLine::Build(p).status().code(), absl::StatusCode::kInvalidArgument);
  p = Base();
  p.umid = "a b";
  EXPECT_EQ(UmlCommandLine::Build(p).status().code(), absl::StatusCode::kInvalidArgument);
  p = Base();
  p.uml_dir = "/" + std::string(100, 'u');
  EXPECT_EQ(UmlCommandLine::Build(p).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace clownix::vmm
