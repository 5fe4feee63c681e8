// Unit tests for keytool/context: main.cf questions answered via util/config.
#include "keytool/context.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace pftls::keytool {
namespace {

Context Ctx(const std::string& text) {
  Result<config::Config> c = config::Config::FromString(text);
  EXPECT_TRUE(c) << c.error();
  return Context{"/cfg", std::move(c).value(), false};
}

TEST(Context, KeyfileForUsesExplicitSettingsOnly) {
  Context c = Ctx("smtpd_tls_cert_file = /etc/c.pem\n");
  EXPECT_EQ(KeyfileFor(c, "rsa"), "");  // the default $smtpd_tls_cert_file does not count
  c = Ctx("d = /k\nsmtpd_tls_key_file = $d/key.pem\nsmtpd_tls_eckey_file = none\n");
  EXPECT_EQ(KeyfileFor(c, "rsa"), "/k/key.pem");
  EXPECT_EQ(KeyfileFor(c, "ecdsa"), "");
  EXPECT_EQ(KeyfileFor(c, "ed25519"), "");
  EXPECT_EQ(KeyfileFor(c, "none"), "");
  EXPECT_EQ(KeyfileFor(c, ""), "");
  EXPECT_EQ(KeyfileFor(c, "/abs/k.pem"), "/abs/k.pem");
  EXPECT_EQ(KeyfileFor(c, "rel/k.pem"), "/cfg/rel/k.pem");
}

TEST(Context, AllDefault) {
  EXPECT_TRUE(AllDefault(Ctx(""), kServerSettings));
  EXPECT_TRUE(AllDefault(Ctx("smtpd_tls_key_file = /k\n"), kServerSettings));
  EXPECT_FALSE(AllDefault(Ctx("smtpd_tls_security_level = may\n"), kServerSettings));
  EXPECT_TRUE(AllDefault(Ctx("smtpd_tls_security_level = may\n"), kClientSettings));
  EXPECT_FALSE(AllDefault(Ctx("smtpd_use_tls = no\n"), kServerSettings));  // default value, but set
  EXPECT_TRUE(AllDefault(Ctx("smtpd_tls_cert_file =\n"), kServerSettings));  // empty: postconf -nh prints ""
  EXPECT_FALSE(AllDefault(Ctx("smtpd_tls_cert_file = $empty\n"), kServerSettings));  // -n is unexpanded
  EXPECT_FALSE(AllDefault(Ctx("smtp_tls_dcert_file = /x\n"), kClientSettings));
  EXPECT_TRUE(AllDefault(Ctx("#smtp_tls_security_level = may\n"), kClientSettings));
}

TEST(Context, FqdnAndRandomSource) {
  Context c = Ctx("myhostname = mx.example.test\n");
  EXPECT_EQ(Fqdn(c, ""), "mx.example.test");
  EXPECT_EQ(Fqdn(c, "given.example"), "given.example");
  char tmpl[] = "/tmp/context_test.XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(tmpl) << "file.example\n\n";
  Context f = Ctx(std::string("myhostname = ") + tmpl + "\n");
  EXPECT_EQ(Fqdn(f, ""), "file.example");
  unlink(tmpl);
  EXPECT_EQ(RandomSource(c, ""), "dev:/dev/urandom");
  EXPECT_EQ(RandomSource(c, "dev:/dev/random"), "dev:/dev/random");
  EXPECT_EQ(RandomSource(Ctx("tls_random_source = egd:/x\n"), ""), "egd:/x");
}

TEST(Context, StampAndPaths) {
  EXPECT_EQ(UtcStamp(0), "19700101-000000");
  EXPECT_EQ(UtcStamp(1795000000), "20261118-110640");
  Context c = Ctx("");
  EXPECT_EQ(InConfigDir(c, "c.pem"), "/cfg/c.pem");
  EXPECT_EQ(InConfigDir(c, "/x/c.pem"), "/x/c.pem");
}

}  // namespace
}  // namespace pftls::keytool
