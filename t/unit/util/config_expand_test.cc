// Tests for util/config expansion: every $-form, nesting, laziness, loops,
// limits and error messages naming file, line and parameter.
#include <gtest/gtest.h>

#include <string>

#include "util/config.h"

namespace pftls::config {
namespace {

std::string X(std::string_view text, std::string_view name = "t") {
  Result<Config> c = Config::FromString(text, "main.cf");
  EXPECT_TRUE(c.ok()) << c.error();
  if (!c) return "<load error>";
  Result<std::string> r = c->Expand(name);
  EXPECT_TRUE(r.ok()) << r.error();
  return r ? *r : "<error: " + r.error() + ">";
}

std::string Err(std::string_view text, std::string_view name = "t") {
  Result<Config> c = Config::FromString(text, "main.cf");
  if (!c) return c.error();
  Result<std::string> r = c->Expand(name);
  EXPECT_FALSE(r.ok()) << "unexpected success: " << *r;
  return r ? "" : r.error();
}

TEST(ConfigExpand, SimpleForms) {
  EXPECT_EQ(X("x = hi\nt = $x ${x} $(x)!"), "hi hi hi!");
  EXPECT_EQ(X("t = a$$b $$x"), "a$b $x");
  EXPECT_EQ(X("x = $$y\nt = [$x]"), "[$y]");
  EXPECT_EQ(X("x = 1\nt = $x-y $x.y ${x}${x}"), "1-y 1.y 11");
  EXPECT_EQ(X("t = a${nope}b$nope2"), "ab");
}

TEST(ConfigExpand, Conditionals) {
  EXPECT_EQ(X("x = 1\nt = ${x?yes}|${x:no}|${y?yes}|${y:no}"), "yes|||no");
  EXPECT_EQ(X("x = 1\nt = ${x?{a b}:{c d}}|${y?{a b}:{c d}}"), "a b|c d");
  EXPECT_EQ(X("t = ${x?{a}:b c}"), "b c");
  EXPECT_EQ(X("x = 1\nt = ${x?a:b}"), "a:b");
  EXPECT_EQ(X("x =\nt = [${x?{s}}${x:{u}}]"), "[u]");
  EXPECT_EQ(X("x = $y\ny =\nt = ${x?{raw}:{empty}}"), "raw");
  EXPECT_EQ(X("x = 1\nt = ${x?  a  }"), "  a  ");
  EXPECT_EQ(X("x = 1\nt = ${x?  { a } }"), " a ");
  EXPECT_EQ(X("x = 1\nt = ${x?{a{b}c}} ${x?a}b}"), "a{b}c ab}");
  EXPECT_EQ(X("x = 1\ny =\nt = ${x?{${y?{in}:{other $x}}}:{out}}"), "other 1");
  EXPECT_EQ(X("x = 1\nt = $(x?{a}:{b}) $(y:{c})"), "a c");
  EXPECT_EQ(X("x = 1\nt = ${ x } ${x ? {a} : {b}}"), "1 a");
}

TEST(ConfigExpand, Relational) {
  EXPECT_EQ(X("t = ${{a} == {a}?{eq}:{ne}}${{a} != {a}?{ne}:{eq}}"), "eqeq");
  EXPECT_EQ(X("t = ${{10} < {9}?{lt}:{ge}} ${{10a} < {9a}?{lt}:{ge}}"), "ge lt");
  EXPECT_EQ(X("t = ${{010} == {10}?{eq}:{ne}} ${{ 1} == {1}?{eq}:{ne}}"), "eq ne");
  EXPECT_EQ(X("t = ${{2} <= {2}?{le}} ${{3} >= {4}?{ge}:{lt}} ${{b} > {a}?{gt}}"), "le lt gt");
  EXPECT_EQ(X("t = [${{a}=={a}}][${{a}=={b}}]"), "[true][]");
  EXPECT_EQ(X("x = 5\ny = 12\nt = ${{$x} < {$y}?{$x<$y}}"), "5<12");
  EXPECT_EQ(X("t = ${{3.6} <level {3.10}?{lt}:{ge}} ${{01.02} ==level {1.2}?{eq}:{ne}}"), "lt eq");
  EXPECT_EQ(X("t = ${{a}=={a}?x:y} ${{a}=={b}?{x}:y}"), "x:y y");
}

TEST(ConfigExpand, LazyLastWinsAndDefaults) {
  EXPECT_EQ(X("t = $later\nlater = ok"), "ok");
  EXPECT_EQ(X("x = old\nt = $x\nx = new"), "new");
  EXPECT_EQ(X("smtpd_tls_cert_file = /c.pem\n", "tlsproxy_tls_key_file"), "/c.pem");
  EXPECT_EQ(X("", "syslog_name"), "postfix");
  EXPECT_EQ(X("multi_instance_name = pf-out\n", "syslog_name"), "pf-out");
  EXPECT_EQ(X("data_directory = /d\n", "tls_random_exchange_name"), "/d/prng_exch");
  EXPECT_EQ(X("", "postscreen_command_time_limit"), "300s");
  EXPECT_EQ(X("", "smtpd_tls_fingerprint_digest"), "md5");
  EXPECT_EQ(X("compatibility_level = 3.6\n", "tlsproxy_tls_fingerprint_digest"), "sha256");
}

TEST(ConfigExpand, Continuation) {
  EXPECT_EQ(X("t = a\n  b\n# c\n\n\td"), "a  b\td");
  EXPECT_EQ(X("t = a  \n  b"), "a    b");
  EXPECT_EQ(X("t = v # not a comment"), "v # not a comment");
}

TEST(ConfigExpand, DepthLimitMatchesPostconf) {
  auto chain = [](int n) {
    std::string s;
    for (int i = 1; i <= n; ++i) s += "p" + std::to_string(i) + " = $p" + std::to_string(i + 1) + "\n";
    return s + "p" + std::to_string(n + 1) + " = end\nt = $p1\n";
  };
  EXPECT_EQ(X(chain(99)), "end");
  EXPECT_NE(Err(chain(100)).find("unreasonable macro call nesting"), std::string::npos);
}

TEST(ConfigExpand, LoopsAreReportedWithFileAndLine) {
  std::string e = Err("a = $b\nb = $a\nt = $a");
  EXPECT_NE(e.find("main.cf, line 2: parameter b: unreasonable macro call nesting"), std::string::npos) << e;
  EXPECT_NE(e.find("a -> b -> a"), std::string::npos) << e;
  e = Err("t = x$t");
  EXPECT_NE(e.find("main.cf, line 1: parameter t"), std::string::npos) << e;
  e = Err("a = ${z:{$b}}\nb = ${z:{$a}}\nt = $a");
  EXPECT_NE(e.find("unreasonable macro call nesting"), std::string::npos) << e;
}

TEST(ConfigExpand, SyntaxErrorsNameFileAndLine) {
  EXPECT_EQ(Err("# c\nt = ${x"), "main.cf, line 2: parameter t: truncated macro reference: \"${x\"");
  EXPECT_NE(Err("t = $(x").find("truncated macro reference"), std::string::npos);
  EXPECT_NE(Err("t = a $ b").find("empty macro name"), std::string::npos);
  EXPECT_NE(Err("t = 5$").find("empty macro name"), std::string::npos);
  EXPECT_NE(Err("t = ${x!y}").find("attribute name syntax error"), std::string::npos);
  EXPECT_NE(Err("t = ${{a} = {a}}").find("expected"), std::string::npos);
  EXPECT_NE(Err("t = ${{1} <lev {1}}").find("bad operator suffix"), std::string::npos);
  EXPECT_NE(Err("t = ${{3.} <level {1}}").find("malformed compatibility level"), std::string::npos);
  EXPECT_NE(Err("t = ${{99999999999999999999} > {1}}").find("out of range"), std::string::npos);
  EXPECT_NE(Err("t = ${{a}=={a}x}").find("\"?\" or \":\" expected"), std::string::npos);
  EXPECT_NE(Err("x = 1\nt = ${x:{a}?{b}}").find("unexpected input"), std::string::npos);
  EXPECT_NE(Err("x = 1\nt = ${x?{a}?{b}}").find("\":\" expected"), std::string::npos);
  // The error is located at the parameter whose value is broken.
  EXPECT_EQ(Err("x = ${broken\nt = $x").substr(0, 28), "main.cf, line 1: parameter x");
}

TEST(ConfigExpand, OutputIsBounded) {
  // Each level doubles: 2^30 bytes if unbounded.
  std::string s = "p0 = xxxxxxxxxxxxxxxx\n";
  for (int i = 1; i <= 30; ++i) s += "p" + std::to_string(i) + " = $p" + std::to_string(i - 1) + "$p" + std::to_string(i - 1) + "\n";
  s += "t = $p30\n";
  EXPECT_NE(Err(s).find("longer than"), std::string::npos);
}

TEST(ConfigExpand, OverrideWinsAndExpandText) {
  Result<Config> c = Config::FromString("x = file\nt = $x\n");
  ASSERT_TRUE(c.ok());
  c->Override("x", "cmdline");
  EXPECT_EQ(*c->Expand("t"), "cmdline");
  EXPECT_EQ(*c->ExpandText("[$x] ${x?{set}}"), "[cmdline] set");
  EXPECT_FALSE(c->ExpandText("${").ok());
  c->Override("t", "${bad");
  std::string e = c->Expand("t").error();
  EXPECT_NE(e.find("-o t="), std::string::npos) << e;
}

TEST(ConfigExpand, ValidateAll) {
  Result<Config> good = Config::FromString("a = $b\nb = 1\n");
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->ValidateAll().ok());
  Result<Config> bad = Config::FromString("a = 1\nb = ${a\n");
  ASSERT_TRUE(bad.ok());
  Status s = bad->ValidateAll();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("main.cf, line 2: parameter b"), std::string::npos) << s.error();
}

// Hostile-looking input: random texts over the syntax characters must give
// a value or an error, never a crash, hang or sanitizer report.
TEST(ConfigExpand, RandomInputNeverCrashes) {
  const char alphabet[] = "$${}{}()?:=\n\t ab#1<>!.";
  unsigned seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff; };
  int ok = 0, bad = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text = "t = ";
    int len = static_cast<int>(next() % 40);
    for (int k = 0; k < len; ++k) text += alphabet[next() % (sizeof(alphabet) - 1)];
    text += "\na = $t${b}\nb = ${a?{$t}:{x}}\n";
    Result<Config> c = Config::FromString(text);
    if (!c) {
      ++bad;
      continue;
    }
    for (const char* n : {"t", "a", "b"}) (c->Expand(n).ok() ? ok : bad)++;
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(bad, 0);
}

}  // namespace
}  // namespace pftls::config
