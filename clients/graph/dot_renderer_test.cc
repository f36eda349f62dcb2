// DotRenderer against Debian's real /usr/bin/dot (graphviz).
#include "clients/graph/dot_renderer.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clients/graph/dot_builder.h"
#include "clients/graph/sample_network.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::graph {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

class DotRendererTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        absl::StrCat(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp", "/render.XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  DotRenderer::Options OptionsFor(const std::string& sub) {
    DotRenderer::Options options;
    options.out_dir = absl::StrCat(dir_, "/", sub);
    return options;
  }

  std::string dir_;
};

TEST_F(DotRendererTest, WritesDotSvgAndPngAtomically) {
  DotRenderer::Options options = OptionsFor("a/b");  // created with its parents
  options.formats = {"svg", "png"};
  auto renderer = DotRenderer::Create(options);
  ASSERT_TRUE(renderer.ok()) << renderer.status();
  v1::Network network = SampleNetwork();
  (*network.mutable_vms(0)->mutable_labels())["note"] = "<&\"'> ]]> 路由器";
  std::string dot = DotBuilder(DotBuilder::Options()).Build(network);
  ASSERT_TRUE((*renderer)->Render(dot).ok());
  EXPECT_THAT(ListDir(options.out_dir),
              UnorderedElementsAre("topology.dot", "topology.svg", "topology.png"));
  EXPECT_EQ(ReadFile((*renderer)->PathOf("dot")), dot);
  std::string svg = ReadFile((*renderer)->MainPath());
  EXPECT_TRUE(absl::StartsWith(svg, "<?xml")) << svg.substr(0, 100);
  EXPECT_THAT(svg, HasSubstr("</svg>"));
  EXPECT_THAT(svg, HasSubstr("revision 137"));
  EXPECT_THAT(svg, HasSubstr("h3&#45;4"));  // dot's own escaping of "-" in SVG text
  EXPECT_THAT(svg, HasSubstr("&lt;&amp;&quot;&#39;&gt; ]]&gt; 路由器"));
  EXPECT_TRUE(absl::StartsWith(ReadFile((*renderer)->PathOf("png")), "\x89PNG"));
}

TEST_F(DotRendererTest, BadDotKeepsThePreviousFilesAndQuotesGraphviz) {
  auto renderer = DotRenderer::Create(OptionsFor("out"));
  ASSERT_TRUE(renderer.ok()) << renderer.status();
  ASSERT_TRUE((*renderer)->Render("graph g { a -- b }\n").ok());
  std::string before = ReadFile((*renderer)->MainPath());
  absl::Status status = (*renderer)->Render("graph g { a -- }\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("syntax error"));
  EXPECT_EQ(ReadFile((*renderer)->MainPath()), before);
  EXPECT_EQ(ReadFile((*renderer)->PathOf("dot")), "graph g { a -- b }\n");
  EXPECT_THAT(ListDir(dir_ + "/out"), UnorderedElementsAre("topology.dot", "topology.svg"));
}

TEST_F(DotRendererTest, MissingDotSaysToInstallGraphviz) {
  DotRenderer::Options options = OptionsFor("out");
  options.dot = "clownix-no-such-dot";
  auto renderer = DotRenderer::Create(options);
  ASSERT_FALSE(renderer.ok());
  EXPECT_EQ(renderer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(renderer.status().message(), HasSubstr("install graphviz"));
  options.dot = "/nonexistent/dot";
  renderer = DotRenderer::Create(options);
  ASSERT_FALSE(renderer.ok());
  EXPECT_THAT(renderer.status().message(), HasSubstr("/nonexistent/dot"));
}

// Whether a process runs whose command line is exactly `argv`.
bool ProcessRuns(const std::vector<std::string>& argv) {
  std::string wanted;
  for (const std::string& arg : argv) absl::StrAppend(&wanted, arg, std::string(1, '\0'));
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return false;
  bool found = false;
  while (dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    if (ReadFile(absl::StrCat("/proc/", entry->d_name, "/cmdline")) == wanted) found = true;
  }
  closedir(proc);
  return found;
}

TEST_F(DotRendererTest, AHungDotIsKilledAtTheTimeout) {
  // A stand-in that never finishes on its own (only the timeout path is under test here): Render
  // can return only by killing it. The marker makes its command line ours alone.
  const std::string marker = absl::StrCat(getpid());
  const std::vector<std::string> hung = {"sleep", "infinity", marker};
  std::string script = dir_ + "/slow-dot";
  std::ofstream(script) << "#!/bin/sh\nexec sleep infinity " << marker << "\n";
  chmod(script.c_str(), 0755);
  DotRenderer::Options options = OptionsFor("out");
  options.dot = script;
  options.timeout = absl::Milliseconds(300);
  auto renderer = DotRenderer::Create(options);
  ASSERT_TRUE(renderer.ok()) << renderer.status();
  absl::Status status = (*renderer)->Render("graph g {}\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_THAT(status.message(), HasSubstr("was killed"));
  // Killed and reaped, not left behind.
  EXPECT_FALSE(ProcessRuns(hung));
  EXPECT_THAT(ListDir(dir_ + "/out"), ::testing::IsEmpty());
}

TEST_F(DotRendererTest, BadFormatsAreRejected) {
  for (std::vector<std::string> formats :
       {std::vector<std::string>{}, {"svg", "../x"}, {"dot"}, {""}}) {
    DotRenderer::Options options = OptionsFor("out");
    options.formats = formats;
    auto renderer = DotRenderer::Create(options);
    ASSERT_FALSE(renderer.ok());
    EXPECT_EQ(renderer.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(DotRendererTest, AnUnknownFormatFailsWithGraphvizsMessage) {
  DotRenderer::Options options = OptionsFor("out");
  options.formats = {"nosuchformat"};
  auto renderer = DotRenderer::Create(options);
  ASSERT_TRUE(renderer.ok());
  absl::Status status = (*renderer)->Render("graph g {}\n");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("nosuchformat"));
}

}  // namespace
}  // namespace clownix::graph
