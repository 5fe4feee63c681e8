// Tests for master.cf parsing: columns, '-' defaults, wakeup '?',
// continuation lines, comments, -o overrides (both forms), errors with
// file and line, and Debian's shipped master.cf.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "util/config.h"

namespace pftls::config {
namespace {

TEST(MasterCf, ColumnsAndDefaults) {
  Result<std::vector<MasterService>> r = ParseMasterCfText(
      "# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
      "smtp      inet  n       -       y       -       -       smtpd\n"
      "tlsmgr    unix  -       -       y       1000?   1       tlsmgr\n"
      "tlsproxy  unix  -       -       n       -       0       tlsproxy -v\n"
      "pickup    unix  n       -       -       60      1       pickup\n",
      "master.cf");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 4u);
  const MasterService& smtp = (*r)[0];
  EXPECT_EQ(smtp.name, "smtp");
  EXPECT_EQ(smtp.type, "inet");
  EXPECT_FALSE(smtp.private_);
  EXPECT_TRUE(smtp.unpriv);
  EXPECT_TRUE(smtp.chroot);
  EXPECT_FALSE(smtp.chroot_default);
  EXPECT_EQ(smtp.maxproc, -1);
  EXPECT_EQ(smtp.command, "smtpd");
  EXPECT_EQ(smtp.line, 2);
  const MasterService& mgr = (*r)[1];
  EXPECT_TRUE(mgr.private_);
  EXPECT_EQ(mgr.wakeup, 1000);
  EXPECT_TRUE(mgr.wakeup_conditional);
  EXPECT_EQ(mgr.maxproc, 1);
  const MasterService& px = (*r)[2];
  EXPECT_FALSE(px.chroot);
  EXPECT_EQ(px.maxproc, 0);
  EXPECT_EQ(px.args, std::vector<std::string>{"-v"});
  EXPECT_EQ((*r)[3].wakeup, 60);
  EXPECT_FALSE((*r)[3].wakeup_conditional);
  EXPECT_TRUE((*r)[3].chroot_default);
}

TEST(MasterCf, OverridesAndContinuation) {
  Result<std::vector<MasterService>> r = ParseMasterCfText(
      "submission inet n - y - - smtpd\n"
      "  -o syslog_name=postfix/submission\n"
      "# a comment between continuation lines\n"
      "\n"
      "  -o { smtpd_tls_security_level = encrypt }\n"
      "  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }\n"
      "  -osmtpd_sasl_auth_enable=yes -v\n"
      "  -o milter_macro_daemon_name=ORIGINATING\n"
      "127.0.0.1:10025 inet n - n - - smtpd -o content_filter= -o { a = { b c } }\n",
      "/etc/pftls/master.cf");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 2u);
  const MasterService& s = (*r)[0];
  std::vector<std::pair<std::string, std::string>> want = {
      {"syslog_name", "postfix/submission"},
      {"smtpd_tls_security_level", "encrypt"},
      {"smtpd_client_restrictions", "permit_sasl_authenticated, reject"},
      {"smtpd_sasl_auth_enable", "yes"},
      {"milter_macro_daemon_name", "ORIGINATING"},
  };
  EXPECT_EQ(s.overrides, want);
  EXPECT_EQ(s.args, std::vector<std::string>{"-v"});
  EXPECT_EQ(s.file, "/etc/pftls/master.cf");
  const MasterService& f = (*r)[1];
  EXPECT_EQ(f.name, "127.0.0.1:10025");
  EXPECT_EQ(f.line, 9);
  std::vector<std::pair<std::string, std::string>> want2 = {{"content_filter", ""}, {"a", "{ b c }"}};
  EXPECT_EQ(f.overrides, want2);
}

TEST(MasterCf, ErrorsNameFileAndLine) {
  auto err = [](const char* text) {
    Result<std::vector<MasterService>> r = ParseMasterCfText(text, "master.cf");
    EXPECT_FALSE(r.ok());
    return r ? std::string() : r.error();
  };
  EXPECT_EQ(err("# c\nsmtp inet n - y - -\n"), "master.cf, line 2: missing command name (need 8 columns, found 7)");
  EXPECT_EQ(err("smtp tcp n - y - - smtpd\n"), "master.cf, line 1: bad transport type: tcp");
  EXPECT_NE(err("smtp inet x - y - - smtpd\n").find("line 1: bad private field"), std::string::npos);
  EXPECT_NE(err("smtp inet n - y 1x - smtpd\n").find("bad wakeup field"), std::string::npos);
  EXPECT_NE(err("smtp inet n - y - abc smtpd\n").find("bad process limit field"), std::string::npos);
  EXPECT_NE(err("smtp inet n - y - - smtpd -o\n").find("-o without name=value"), std::string::npos);
  EXPECT_NE(err("smtp inet n - y - - smtpd -o novalue\n").find("missing \"=\""), std::string::npos);
  EXPECT_NE(err("smtp inet n - y - - smtpd -o { a = b\n").find("missing \"}\""), std::string::npos);
  EXPECT_EQ(err("  smtp inet n - y - - smtpd\n"), "master.cf, line 1: continuation line without a service entry");
  EXPECT_NE(err("a unix - - - - - x\nb unix - - - - - y\na unix - - - - - z\n").find("line 3: duplicate service a/unix"),
            std::string::npos);
  Result<std::vector<MasterService>> nul = ParseMasterCfText(std::string("a unix - - - - - x\nb\0c\n", 24), "m");
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error(), "m, line 2: NUL byte in file (binary file, not a master.cf)");
}

TEST(MasterCf, DebianShippedFiles) {
  int parsed = 0;
  for (const char* p : {"/usr/share/postfix/master.cf.dist", "/etc/postfix/master.cf"}) {
    if (access(p, R_OK) != 0) continue;
    Result<std::vector<MasterService>> r = ParseMasterCf(p);
    ASSERT_TRUE(r.ok()) << p << ": " << r.error();
    bool tlsmgr = false;
    for (const MasterService& s : *r)
      if (s.name == "tlsmgr" && s.type == "unix") {
        tlsmgr = true;
        EXPECT_EQ(s.maxproc, 1);
        EXPECT_TRUE(s.wakeup_conditional);
      }
    EXPECT_TRUE(tlsmgr) << p;
    EXPECT_GT(r->size(), 10u) << p;
    ++parsed;
  }
  if (parsed == 0) GTEST_SKIP() << "no Debian master.cf installed";
}

TEST(MasterCf, MissingFile) {
  Result<std::vector<MasterService>> r = ParseMasterCf("/nonexistent/master.cf");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("/nonexistent/master.cf"), std::string::npos);
}

}  // namespace
}  // namespace pftls::config
