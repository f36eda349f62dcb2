#include "server/image_catalog.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::string Manifest(const std::string& name, int default_mem = 96, int min_mem = 80,
                     const std::string& extra = "") {
  return absl::StrCat(R"({"name": ")", name, R"(", "description": "the )", name,
                      R"( image", "root_fs": "rootfs.img", "default_mem_mib": )", default_mem,
                      R"(, "min_mem_mib": )", min_mem,
                      R"(, "contents": ["frr 8.4.4-1.1~deb12u1", "iproute2 6.1.0-3"],)",
                      R"( "recipe_hash": "abc123", "build_seconds": 12.5)", extra, "}");
}

class ImageCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/clownix-images-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    images_ = root_ + "/images";
    ASSERT_EQ(mkdir(images_.c_str(), 0755), 0);
  }
  void TearDown() override { ASSERT_EQ(system(("rm -rf " + root_).c_str()), 0); }

  void Write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
    ASSERT_TRUE(std::ifstream(path).good()) << path;
  }
  // An image directory `dir` (relative to root_) with `manifest` and a 1 MiB sparse file.
  void MakeImage(const std::string& dir, const std::string& manifest) {
    std::string path = root_ + "/" + dir;
    ASSERT_EQ(system(("mkdir -p " + path).c_str()), 0);
    Write(path + "/image.json", manifest);
    Write(path + "/rootfs.img", "");
    ASSERT_EQ(truncate((path + "/rootfs.img").c_str(), 1 << 20), 0);
  }
  std::unique_ptr<ImageCatalog> Catalog(ImageCatalog::Options options = {}) {
    if (options.dirs.empty()) options.dirs = {images_};
    absl::StatusOr<std::unique_ptr<ImageCatalog>> catalog = ImageCatalog::Create(options);
    EXPECT_TRUE(catalog.ok()) << catalog.status();
    return catalog.ok() ? *std::move(catalog) : nullptr;
  }

  std::string root_;
  std::string images_;
};

TEST_F(ImageCatalogTest, ListsWhatImageJsonSaysWithTheFileSizes) {
  MakeImage("images/debian", Manifest("debian"));
  std::unique_ptr<ImageCatalog> catalog = Catalog({{images_}, "", "", "debian"});
  ImageCatalog::Listing listing = catalog->List();
  ASSERT_THAT(listing.images, SizeIs(1));
  EXPECT_THAT(listing.problems, IsEmpty());
  const clownix::v1::Image& image = listing.images[0];
  EXPECT_EQ(image.name(), "debian");
  EXPECT_EQ(image.description(), "the debian image");
  EXPECT_TRUE(image.is_default());
  EXPECT_EQ(image.size_bytes(), 1u << 20);
  EXPECT_LT(image.allocated_bytes(), image.size_bytes());  // sparse
  EXPECT_EQ(image.default_mem_mib(), 96u);
  EXPECT_EQ(image.min_mem_mib(), 80u);
  EXPECT_THAT(image.contents(), ElementsAre("frr 8.4.4-1.1~deb12u1", "iproute2 6.1.0-3"));
  EXPECT_EQ(image.recipe_hash(), "abc123");
  EXPECT_DOUBLE_EQ(image.build_seconds(), 12.5);
  EXPECT_EQ(image.root_fs(), images_ + "/debian/rootfs.img");
}

TEST_F(ImageCatalogTest, BrokenImagesAreLeftOutNamingTheFileAndTheField) {
  MakeImage("images/good", Manifest("good"));
  MakeImage("images/nomem", R"({"name": "nomem", "description": "d", "root_fs": "rootfs.img",
                                "default_mem_mib": 64, "recipe_hash": "x"})");
  MakeImage("images/notjson", "{\"name\": ");
  MakeImage("images/badtype", Manifest("badtype", 96, 80, R"(, "contents": 3)"));
  MakeImage("images/lowmem", Manifest("lowmem", 32, 32));
  MakeImage("images/minabove", Manifest("minabove", 64, 128));
  MakeImage("images/renamed", Manifest("other"));
  MakeImage("images/escape", R"({"name": "escape", "description": "d", "root_fs": "../x.img",
                                 "default_mem_mib": 64, "min_mem_mib": 48, "recipe_hash": "x"})");
  MakeImage("images/nofile", Manifest("nofile"));
  ASSERT_EQ(unlink((images_ + "/nofile/rootfs.img").c_str()), 0);
  ASSERT_EQ(mkdir((images_ + "/empty").c_str(), 0755), 0);
  // Not image names: skipped without a word (a build's temporary or versioned directories).
  ASSERT_EQ(mkdir((images_ + "/debian.new").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((images_ + "/.tmp").c_str(), 0755), 0);

  std::unique_ptr<ImageCatalog> catalog = Catalog();
  ImageCatalog::Listing listing = catalog->List();
  ASSERT_THAT(listing.images, SizeIs(1));
  EXPECT_EQ(listing.images[0].name(), "good");
  EXPECT_FALSE(listing.images[0].is_default());
  std::string all;
  for (const std::string& problem : listing.problems) absl::StrAppend(&all, problem, "\n");
  EXPECT_THAT(listing.problems, SizeIs(9)) << all;
  EXPECT_THAT(all, HasSubstr(images_ + "/nomem/image.json: field \"min_mem_mib\" is missing"));
  EXPECT_THAT(all, HasSubstr(images_ + "/notjson/image.json: not an image manifest"));
  EXPECT_THAT(all, HasSubstr(images_ + "/badtype/image.json: not an image manifest"));
  EXPECT_THAT(all, HasSubstr("contents"));
  EXPECT_THAT(all, HasSubstr(images_ + "/lowmem/image.json: field \"default_mem_mib\" 32 is out "
                                       "of range 48..8192"));
  EXPECT_THAT(all, HasSubstr(images_ + "/minabove/image.json: field \"min_mem_mib\" 128 is "
                                       "above field \"default_mem_mib\" 64"));
  EXPECT_THAT(all, HasSubstr(images_ + "/renamed/image.json: field \"name\" is \"other\" but "
                                       "the directory is \"renamed\""));
  EXPECT_THAT(all, HasSubstr(images_ + "/escape/image.json: field \"root_fs\" is \"../x.img\""));
  EXPECT_THAT(all, HasSubstr(images_ + "/nofile/image.json: field \"root_fs\": " + images_ +
                             "/nofile/rootfs.img: No such file"));
  EXPECT_THAT(all, HasSubstr(images_ + "/empty/image.json: missing"));

  absl::StatusOr<clownix::v1::Image> broken = catalog->Find("nomem");
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(broken.status().message(), HasSubstr("image \"nomem\" is broken ("));
  EXPECT_THAT(broken.status().message(), HasSubstr("the images are: good"));
}

TEST_F(ImageCatalogTest, UnknownImageIsNotFoundNamingTheImagesThatExist) {
  MakeImage("images/debian", Manifest("debian"));
  MakeImage("images/alpine", Manifest("alpine"));
  std::unique_ptr<ImageCatalog> catalog = Catalog();
  absl::StatusOr<clownix::v1::Image> image = catalog->Find("gentoo");
  EXPECT_EQ(image.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(image.status().message(),
            "image \"gentoo\" does not exist; the images are: alpine, debian");
  EXPECT_EQ(catalog->Find("Bad/Name").status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(catalog->Find("alpine").ok());

  std::unique_ptr<ImageCatalog> none = Catalog({{root_ + "/missing"}});
  EXPECT_THAT(none->Find("tiny").status().message(), HasSubstr("there are no images"));
  EXPECT_THAT(none->List().images, IsEmpty());
  EXPECT_THAT(none->List().problems, IsEmpty());  // a missing directory holds no images
}

TEST_F(ImageCatalogTest, TheBuiltinTinyIsTheDefaultAndItsFileMayBeReplaced) {
  MakeImage("built", Manifest("tiny", 64, 48));
  ImageCatalog::Options options;
  options.dirs = {images_};
  options.builtin_manifest = root_ + "/built/image.json";
  std::unique_ptr<ImageCatalog> catalog = Catalog(options);
  absl::StatusOr<clownix::v1::Image> tiny = catalog->Find(catalog->default_image());
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_EQ(tiny->name(), "tiny");
  EXPECT_TRUE(tiny->is_default());
  EXPECT_EQ(tiny->default_mem_mib(), 64u);
  EXPECT_EQ(tiny->root_fs(), root_ + "/built/rootfs.img");

  // The seed's BULK_DIR/root_fs replaces the file, not the rest.
  Write(root_ + "/root_fs", "seed");
  options.builtin_root_fs = root_ + "/root_fs";
  tiny = Catalog(options)->Find("tiny");
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_EQ(tiny->root_fs(), root_ + "/root_fs");
  EXPECT_EQ(tiny->size_bytes(), 4u);
  EXPECT_EQ(tiny->description(), "the tiny image");

  // An image directory's `tiny` comes first.
  MakeImage("images/tiny", Manifest("tiny", 128, 64));
  tiny = Catalog(options)->Find("tiny");
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_EQ(tiny->default_mem_mib(), 128u);
}

TEST_F(ImageCatalogTest, EarlierDirectoriesWinAndBrokenOnesFallThrough) {
  MakeImage("bulk/images/debian", Manifest("debian", 200, 100));
  MakeImage("images/debian", Manifest("debian", 96, 80));
  MakeImage("bulk/images/alpine", Manifest("alpine", 10, 10));  // broken
  MakeImage("images/alpine", Manifest("alpine", 64, 48));
  std::unique_ptr<ImageCatalog> catalog = Catalog({{root_ + "/bulk/images", images_}});
  EXPECT_EQ(catalog->Find("debian")->default_mem_mib(), 200u);
  EXPECT_EQ(catalog->Find("alpine")->default_mem_mib(), 64u);
  EXPECT_THAT(catalog->List().problems, SizeIs(1));
}

TEST_F(ImageCatalogTest, ImagesBuiltWhileRunningAppearAndSymlinkSwapsAreSeen) {
  std::unique_ptr<ImageCatalog> catalog = Catalog();
  EXPECT_THAT(catalog->List().images, IsEmpty());

  // A versioned directory as the build makes it (NAME-RECIPEHASH), and NAME -> it.
  MakeImage("images/debian-0123abcd", Manifest("debian", 96, 80));
  ASSERT_EQ(symlink("debian-0123abcd", (images_ + "/debian").c_str()), 0);
  absl::StatusOr<clownix::v1::Image> debian = catalog->Find("debian");
  ASSERT_TRUE(debian.ok()) << debian.status();
  EXPECT_EQ(debian->root_fs(), images_ + "/debian-0123abcd/rootfs.img");  // the real path
  EXPECT_EQ(debian->default_mem_mib(), 96u);
  ImageCatalog::Listing listing = catalog->List();
  EXPECT_THAT(listing.images, SizeIs(1));  // the version is not an image of its own
  EXPECT_THAT(listing.problems, IsEmpty());

  // A rebuild: a new version, then the symlink replaced by rename (as `ln -sfn` does).
  MakeImage("images/debian-4567ef01", Manifest("debian", 128, 80));
  ASSERT_EQ(symlink("debian-4567ef01", (images_ + "/.debian.link").c_str()), 0);
  ASSERT_EQ(rename((images_ + "/.debian.link").c_str(), (images_ + "/debian").c_str()), 0);
  debian = catalog->Find("debian");
  ASSERT_TRUE(debian.ok()) << debian.status();
  EXPECT_EQ(debian->root_fs(), images_ + "/debian-4567ef01/rootfs.img");
  EXPECT_EQ(debian->default_mem_mib(), 128u);

  // A manifest rewritten in place (its size changes: timestamps may not, within one tick), and
  // an image file that grows.
  Write(images_ + "/debian-4567ef01/image.json", Manifest("debian", 1024, 80));
  EXPECT_EQ(catalog->Find("debian")->default_mem_mib(), 1024u);
  ASSERT_EQ(truncate((images_ + "/debian-4567ef01/rootfs.img").c_str(), 2 << 20), 0);
  EXPECT_EQ(catalog->List().images[0].size_bytes(), 2u << 20);

  // Removed.
  ASSERT_EQ(unlink((images_ + "/debian").c_str()), 0);
  EXPECT_EQ(catalog->Find("debian").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ImageCatalogTest, ABadDefaultNameIsRefused) {
  ImageCatalog::Options options;
  options.default_image = "No Such";
  EXPECT_EQ(ImageCatalog::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace clownix::server
