#include "vmm/spec_file.h"

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_io.h"
#include "gtest/gtest.h"

namespace clownix::vmm {
namespace {

SpecFile::Contents Sample() {
  SpecFile::Contents c;
  c.spec.name = "pc-1";
  c.spec.number = 123;
  c.spec.mem_mib = 96;
  c.spec.nics = {{0, "/w/lans/admin/ctl"}, {3, "/w/lans/blue lan/ctl"}};
  c.boot_nics = {{0, "/w/lans/admin/ctl"}};
  return c;
}

void ExpectSame(const SpecFile::Contents& a, const SpecFile::Contents& b) {
  EXPECT_EQ(a.spec.name, b.spec.name);
  EXPECT_EQ(a.spec.number, b.spec.number);
  EXPECT_EQ(a.spec.mem_mib, b.spec.mem_mib);
  EXPECT_EQ(a.spec.nics, b.spec.nics);
  EXPECT_EQ(a.spec.root_fs, b.spec.root_fs);
  EXPECT_EQ(a.spec.macs, b.spec.macs);
  EXPECT_EQ(a.boot_nics, b.boot_nics);
}

TEST(SpecFileTest, RoundTripsThroughTheDisk) {
  const std::string path = absl::StrCat(getenv("TEST_TMPDIR"), "/spec");
  SpecFile::Contents on_an_image = Sample();
  on_an_image.spec.root_fs = "/var/cache/clownix/images/debian-1f2e/rootfs.img";
  SpecFile::Contents with_macs = Sample();
  with_macs.spec.macs = {{0, "02:42:0a:00:00:01"}, {3, "52:54:00:12:34:56"}};
  for (SpecFile::Contents c :
       {Sample(), on_an_image, with_macs, SpecFile::Contents{{"a", 1, 48, {}}, {}}}) {
    ASSERT_TRUE(SpecFile::Write(path, c).ok());
    absl::StatusOr<SpecFile::Contents> read = SpecFile::Read(path);
    ASSERT_TRUE(read.ok()) << read.status();
    ExpectSame(*read, c);
  }
}

TEST(SpecFileTest, TheTextIsTheDocumentedFormat) {
  EXPECT_EQ(SpecFile::Encode(Sample()),
            "format=2\nname=pc-1\nnumber=123\nmem=96\nnic=0 /w/lans/admin/ctl\n"
            "nic=3 /w/lans/blue lan/ctl\nbootnic=0 /w/lans/admin/ctl\nend\n");
  SpecFile::Contents on_an_image = Sample();
  on_an_image.spec.root_fs = "/images/debian/rootfs.img";
  EXPECT_TRUE(absl::StrContains(SpecFile::Encode(on_an_image),
                                "mem=96\nrootfs=/images/debian/rootfs.img\nnic=0"));
}

TEST(SpecFileTest, ReadsFilesFromBeforeTheFormatLine) {
  // Written before boot NICs were recorded: they are the current ones.
  absl::StatusOr<SpecFile::Contents> old =
      SpecFile::Parse("name=pc1\nnumber=4\nmem=64\nnic=0 /w/a\nnic=2 /w/b\n");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->spec.nics, (std::vector<NicSpec>{{0, "/w/a"}, {2, "/w/b"}}));
  EXPECT_EQ(old->boot_nics, old->spec.nics);
  // With boot NICs, no format line and no end line.
  old = SpecFile::Parse("name=pc1\nnumber=4\nmem=64\nnic=0 /w/a\nnic=2 /w/b\nbootnic=0 /w/a\n");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->boot_nics, (std::vector<NicSpec>{{0, "/w/a"}}));
}

TEST(SpecFileTest, ACutFileIsDataLoss) {
  const std::string whole = SpecFile::Encode(Sample());
  // Every cut of the file at a line boundary (and in the middle of a line) short of the end.
  for (size_t size = 0; size + 1 < whole.size(); ++size) {
    absl::StatusOr<SpecFile::Contents> cut = SpecFile::Parse(whole.substr(0, size));
    EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss)
        << size << ": " << whole.substr(0, size);
  }
  absl::StatusOr<SpecFile::Contents> cut = SpecFile::Parse(whole.substr(0, whole.size() - 4));
  EXPECT_TRUE(absl::StrContains(cut.status().message(), "no end line")) << cut.status();
  // "end" without its newline is still the end.
  EXPECT_TRUE(SpecFile::Parse(whole.substr(0, whole.size() - 1)).ok());
}

TEST(SpecFileTest, CorruptFilesAreDataLossNamingTheLine) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"format=2\nname=a\nnumber=x\nmem=64\nend\n", "line 3 \"number=x\": not a number"},
      {"format=2\nname=a\nnumber=0\nmem=64\nend\n", "line 3"},
      {"format=2\nname=A\nnumber=1\nmem=64\nend\n", "line 2"},
      {"format=2\nname=a\nnumber=1\nmem=-1\nend\n", "line 4"},
      {"format=2\nname=a\nnumber=1\nmem=64\nnic=9 /x\nend\n", "line 5"},
      {"format=2\nname=a\nnumber=1\nmem=64\nnic=1\nend\n", "not INDEX CTL_PATH"},
      {"format=2\nname=a\nnumber=1\nmem=64\nnic=1 /x\nnic=1 /y\nend\n", "NIC given twice"},
      {"format=2\nname=a\nname=b\nnumber=1\nmem=64\nend\n", "key given twice"},
      {"format=2\nname=a\nnumber=1\nmem=64\ncolour=red\nend\n", "unknown key"},
      {"format=2\nname=a\nnumber=1\nmem=64\nrootfs=img\nend\n", "not absolute"},
      {"format=3\nname=a\nnumber=1\nmem=64\nend\n", "format"},
      {"name=a\nformat=2\nnumber=1\nmem=64\nend\n", "format"},
      {"format=2\nname=a\nmem=64\nend\n", "no number= line"},
      {"format=2\nname=a\nnumber=1\nmem=64\nend\nmem=65\n", "after the end line"},
      {"\x01\x02garbage", "unknown key"},
      {"format=2\nname=a\nnumber=1\nmem=64\nmac=1 01:00:5e:00:00:01\nend\n", "multicast"},
      {"format=2\nname=a\nnumber=1\nmem=64\nmac=x 02:42:00:00:00:01\nend\n", "not INDEX MAC"},
      {"format=2\nname=a\nnumber=1\nmem=64\nmac=1 02:42:00:00:00:01\nmac=1 02:42:00:00:00:02\n"
       "end\n",
       "MAC given twice"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SpecFile::Contents> parsed = SpecFile::Parse(c.text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss) << c.text;
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), c.message))
        << c.text << " -> " << parsed.status();
  }
}

TEST(SpecFileTest, ReadNamesTheFile) {
  const std::string path = absl::StrCat(getenv("TEST_TMPDIR"), "/bad-spec");
  ASSERT_TRUE(common::WriteFileDurably(path, "format=2\nname=a\n").ok());
  absl::StatusOr<SpecFile::Contents> read = SpecFile::Read(path);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(read.status().message(), path)) << read.status();
  EXPECT_EQ(SpecFile::Read(path + ".missing").status().code(), absl::StatusCode::kNotFound);
}

TEST(SpecFileTest, AnUnwritablePlaceIsAnError) {
  EXPECT_FALSE(SpecFile::Write("/proc/clownix/spec", Sample()).ok());
}

}  // namespace
}  // namespace clownix::vmm
