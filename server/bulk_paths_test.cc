#include "server/bulk_paths.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

using ::testing::HasSubstr;

class BulkPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/clownix-bulk-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { ASSERT_EQ(system(("rm -rf " + dir_).c_str()), 0); }
  void Touch(const std::string& name) { std::ofstream(dir_ + "/" + name) << "x"; }
  std::string dir_;
};

TEST_F(BulkPathsTest, TheSeedsBulkDirGivesKernelAndRootFs) {
  Touch("linux");
  Touch("rootfs.img");
  absl::StatusOr<BulkPaths> paths = FindBulkPaths(dir_);
  ASSERT_TRUE(paths.ok()) << paths.status();
  EXPECT_EQ(paths->kernel, dir_ + "/linux");
  EXPECT_EQ(paths->root_fs, dir_ + "/rootfs.img");
  // The switch and the shim are always the ones built with clownixd (data of this test).
  EXPECT_THAT(paths->switchcore, HasSubstr("switchcore/clownix-switchcore"));
  EXPECT_THAT(paths->xstate_fix, HasSubstr("vmm/xstate/libuml_xstate_fix.so"));
}

TEST_F(BulkPathsTest, RootFsIsPreferredToRootfsImgAndTheKernelDefaultsToDebians) {
  Touch("root_fs");
  Touch("rootfs.img");
  absl::StatusOr<BulkPaths> paths = FindBulkPaths(dir_);
  ASSERT_TRUE(paths.ok()) << paths.status();
  EXPECT_EQ(paths->root_fs, dir_ + "/root_fs");
  EXPECT_EQ(paths->kernel, "/usr/bin/linux.uml");
}

TEST_F(BulkPathsTest, ABulkDirWithoutRootFsIsNotFound) {
  absl::StatusOr<BulkPaths> paths = FindBulkPaths(dir_);
  EXPECT_EQ(paths.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(paths.status().message(), HasSubstr(dir_ + " has no root_fs"));
}

TEST_F(BulkPathsTest, ABulkDirWithImagesOnlyKeepsTheBuiltRootFs) {
  ASSERT_EQ(mkdir((dir_ + "/images").c_str(), 0755), 0);
  absl::StatusOr<BulkPaths> paths = FindBulkPaths(dir_);
  ASSERT_TRUE(paths.ok()) << paths.status();
  EXPECT_THAT(paths->root_fs, HasSubstr("vmm/rootfs/rootfs.img"));
}

TEST_F(BulkPathsTest, TheBuiltinImagesFileIsTheSeedsRootFsWhenThereIsOne) {
  absl::StatusOr<BuiltinImage> builtin = FindBuiltinImage("");
  ASSERT_TRUE(builtin.ok()) << builtin.status();
  EXPECT_THAT(builtin->manifest, HasSubstr("vmm/rootfs/image.json"));
  EXPECT_EQ(builtin->root_fs_override, "");
  Touch("root_fs");
  builtin = FindBuiltinImage(dir_);
  ASSERT_TRUE(builtin.ok()) << builtin.status();
  EXPECT_EQ(builtin->root_fs_override, dir_ + "/root_fs");
}

TEST(FindBuiltFileTest, SaysWhereItLooked) {
  absl::StatusOr<std::string> path = FindBuiltFile("no/such/file");
  EXPECT_EQ(path.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(path.status().message(), HasSubstr("no/such/file not found (looked in "));
  EXPECT_TRUE(FindBuiltFile("switchcore/clownix-switchcore").ok());
}

}  // namespace
}  // namespace clownix::server
