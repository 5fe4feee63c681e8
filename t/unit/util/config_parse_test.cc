// Tests for util/config loading: main.cf syntax, bad input (one clear
// error naming file and line), Raw/Where/IsExplicit/Names, ConfigDir.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "util/config.h"

namespace pftls::config {
namespace {

struct TempDir {
  TempDir() {
    char t[] = "/tmp/pftls-config-test.XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void Write(const std::string& name, const std::string& data) const {
    std::ofstream(path + "/" + name, std::ios::binary) << data;
  }
  std::string path;
};

TEST(ConfigParse, NameValueSyntax) {
  Result<Config> c = Config::FromString("a=1\nb\t=\t2\t\nc = x = y\n  \n#a = 9\n   # also a comment\nd =\n");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(*c->Raw("a"), "1");
  EXPECT_EQ(*c->Raw("b"), "2");
  EXPECT_EQ(*c->Raw("c"), "x = y");
  EXPECT_EQ(*c->Raw("d"), "");
  EXPECT_TRUE(c->IsExplicit("d"));
  EXPECT_FALSE(c->IsExplicit("e"));
  EXPECT_EQ(c->Names(), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(ConfigParse, LastDefinitionWinsWithItsLine) {
  Result<Config> c = Config::FromString("a = 1\nb = 2\na = 3\n  more\n", "/x/main.cf");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->Raw("a"), "3  more");
  const Definition* d = c->Where("a");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->file, "/x/main.cf");
  EXPECT_EQ(d->line, 3);
  EXPECT_EQ(c->Names(), (std::vector<std::string>{"a", "b"}));
}

TEST(ConfigParse, RawFallsBackToTableDefault) {
  Result<Config> c = Config::FromString("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->Raw("tlsproxy_tls_cert_file"), "$smtpd_tls_cert_file");
  EXPECT_EQ(*c->Raw("queue_directory"), "/var/spool/postfix");
  EXPECT_EQ(c->Where("queue_directory"), nullptr);
  EXPECT_FALSE(c->Raw("no_such_parameter_xyz").has_value());
  EXPECT_FALSE(c->IsExplicit("queue_directory"));
  EXPECT_FALSE(c->Raw("myhostname")->empty());
}

TEST(ConfigParse, MissingEqualsNamesFileAndLine) {
  Result<Config> c = Config::FromString("a = 1\n# c\nthis has no equals\n", "/etc/pftls/main.cf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error(), "/etc/pftls/main.cf, line 3: missing '=' after attribute name: \"this has no equals\"");
  c = Config::FromString("= v\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error(), "main.cf, line 1: missing attribute name: \"= v\"");
  // The error names the first line of a continued logical line.
  c = Config::FromString("a = 1\nbroken\n  continued\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("line 2:"), std::string::npos);
}

TEST(ConfigParse, BinaryFileIsRejected) {
  std::string bin = "a = 1\nb = 2\n\x7f" "ELF";
  bin += std::string("\0\0\x01\x02", 4);
  Result<Config> c = Config::FromString(bin, "main.cf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error(), "main.cf, line 3: NUL byte in file (binary file, not a main.cf)");
}

TEST(ConfigParse, LeadingWhitespaceFirstLineIsSkipped) {
  Result<Config> c = Config::FromString("  orphan = 1\na = 2\n");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->IsExplicit("orphan"));
  EXPECT_EQ(*c->Raw("a"), "2");
}

TEST(ConfigParse, LoadFromDirectory) {
  TempDir d;
  Result<Config> empty = Config::Load(d.path);  // no main.cf: empty configuration
  ASSERT_TRUE(empty.ok()) << empty.error();
  EXPECT_TRUE(empty->Names().empty());
  EXPECT_EQ(*empty->Expand("config_directory"), d.path);
  d.Write("main.cf", "x = 1\ny = ${x\n");
  Result<Config> c = Config::Load(d.path);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->main_cf_path(), d.path + "/main.cf");
  EXPECT_EQ(c->Expand("y").error(), d.path + "/main.cf, line 2: parameter y: truncated macro reference: \"${x\"");
  d.Write("main.cf", std::string("a = 1\0\n", 7));
  Result<Config> b = Config::Load(d.path);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error(), d.path + "/main.cf, line 1: NUL byte in file (binary file, not a main.cf)");
}

TEST(ConfigParse, ConfigDirPrecedence) {
  ASSERT_EQ(setenv("MAIL_CONFIG", "/from/env", 1), 0);
  EXPECT_EQ(ConfigDir("/from/dash-c"), "/from/dash-c");
  EXPECT_EQ(ConfigDir(nullptr), "/from/env");
  EXPECT_EQ(ConfigDir(""), "/from/env");
  ASSERT_EQ(unsetenv("MAIL_CONFIG"), 0);
  EXPECT_EQ(ConfigDir(nullptr), kDefaultConfigDir);
}

}  // namespace
}  // namespace pftls::config
