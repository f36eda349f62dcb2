#include "clients/graph/dot_text.h"

#include "gtest/gtest.h"

namespace clownix::graph {
namespace {

TEST(DotTextTest, QuoteEscapesQuotesAndBackslashes) {
  EXPECT_EQ(DotQuote("vm:a"), "\"vm:a\"");
  EXPECT_EQ(DotQuote("say \"hi\""), "\"say \\\"hi\\\"\"");
  // A trailing backslash must not escape the closing quote.
  EXPECT_EQ(DotQuote("a\\"), "\"a\\\\\"");
}

TEST(DotTextTest, QuoteAndHtmlReplaceControlCharacters) {
  EXPECT_EQ(DotQuote("a\nb\tc\x7f"), "\"a b c \"");
  EXPECT_EQ(DotHtml(std::string("a\0b", 3)), "a b");
  EXPECT_EQ(DotHtml("x\xC2\x85y"), "x y");  // U+0085, a C1 control
}

TEST(DotTextTest, HtmlEscapesMarkup) {
  EXPECT_EQ(DotHtml("<b>&\"'</b>"), "&lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;");
  EXPECT_EQ(DotHtml("]]> <!-- -->"), "]]&gt; &lt;!-- --&gt;");
}

TEST(DotTextTest, ValidUtf8PassesInvalidBecomesReplacement) {
  EXPECT_EQ(DotHtml("café ±2ms 路由器 🙂"), "café ±2ms 路由器 🙂");
  EXPECT_EQ(DotHtml("a\xFF"
                    "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(DotHtml("\xC3"), "\xEF\xBF\xBD");                  // truncated sequence
  EXPECT_EQ(DotHtml("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong "/"
  EXPECT_EQ(DotQuote("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
}

TEST(DotTextTest, EllipsizeCountsCodePoints) {
  EXPECT_EQ(Ellipsize("short", 10), "short");
  EXPECT_EQ(Ellipsize("exactly10!", 10), "exactly10!");
  EXPECT_EQ(Ellipsize("abcdefghijk", 5), "abcd…");
  EXPECT_EQ(Ellipsize("ééééééé", 3), "éé…");
  EXPECT_EQ(Ellipsize("abc", 0), "");
}

}  // namespace
}  // namespace clownix::graph
