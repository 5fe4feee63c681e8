// Tests for tls/policy: security levels, protocol lists and cipher grades.
#include "tls/policy.h"

#include <gtest/gtest.h>

#include "util/handles.h"

namespace pftls::tls {
namespace {

TEST(Level, ServerLevels) {
  EXPECT_EQ(*ParseServerLevel("none", true, true), TlsLevel::kNone);
  EXPECT_EQ(*ParseServerLevel("may", false, false), TlsLevel::kMay);
  EXPECT_EQ(*ParseServerLevel("encrypt", false, false), TlsLevel::kEncrypt);
  // Unsupported server levels are treated as encrypt.
  EXPECT_EQ(*ParseServerLevel("verify", false, false), TlsLevel::kEncrypt);
  EXPECT_EQ(*ParseServerLevel("secure", false, false), TlsLevel::kEncrypt);
  EXPECT_EQ(*ParseServerLevel("fingerprint", false, false), TlsLevel::kEncrypt);
  // DANE levels and garbage are invalid for a server.
  EXPECT_FALSE(ParseServerLevel("dane", false, false));
  EXPECT_FALSE(ParseServerLevel("dane-only", false, false));
  EXPECT_FALSE(ParseServerLevel("halfdane", false, false));
  EXPECT_FALSE(ParseServerLevel("bogus", false, false));
  EXPECT_EQ(ParseServerLevel("bogus", false, false).error(), "Invalid TLS level \"bogus\"");
}

TEST(Level, LegacyBooleansWhenEmpty) {
  EXPECT_EQ(*ParseServerLevel("", false, false), TlsLevel::kNone);
  EXPECT_EQ(*ParseServerLevel("", true, false), TlsLevel::kMay);
  EXPECT_EQ(*ParseServerLevel("", true, true), TlsLevel::kEncrypt);
  EXPECT_EQ(*ParseServerLevel("", false, true), TlsLevel::kEncrypt);
}

TEST(Protocols, Syntax) {
  EXPECT_EQ(ParseProtocols(">=TLSv1.2")->enabled, unsigned(kTLSv1_2 | kTLSv1_3));
  EXPECT_EQ(ParseProtocols("!SSLv2, !SSLv3, !TLSv1")->enabled, unsigned(kTLSv1_1 | kTLSv1_2 | kTLSv1_3));
  EXPECT_EQ(ParseProtocols("!SSLv2:!SSLv3")->enabled, unsigned(kTLSv1 | kTLSv1_1 | kTLSv1_2 | kTLSv1_3));
  EXPECT_EQ(ParseProtocols("TLSv1.2")->enabled, unsigned(kTLSv1_2));
  EXPECT_EQ(ParseProtocols("TLSv1.2 TLSv1.3")->enabled, unsigned(kTLSv1_2 | kTLSv1_3));
  EXPECT_EQ(ParseProtocols("<=TLSv1.2")->enabled, unsigned(kTLSv1 | kTLSv1_1 | kTLSv1_2));
  EXPECT_EQ(ParseProtocols(">=TLSv1, <=TLSv1.2, !TLSv1.1")->enabled, unsigned(kTLSv1 | kTLSv1_2));
  EXPECT_EQ(ParseProtocols("")->enabled, unsigned(kTLSv1 | kTLSv1_1 | kTLSv1_2 | kTLSv1_3));
  // SSLv2/SSLv3 are never enabled.
  EXPECT_EQ(ParseProtocols("SSLv3, TLSv1.3")->enabled, unsigned(kTLSv1_3));
  EXPECT_FALSE(ParseProtocols("TLSv9"));
  EXPECT_FALSE(ParseProtocols(">=TLSv1.3, <=TLSv1.2"));
  EXPECT_FALSE(ParseProtocols("SSLv3"));
}

TEST(Protocols, AppliedToContext) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  ASSERT_TRUE(ApplyProtocols(ctx.get(), *ParseProtocols(">=TLSv1.2")).ok());
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx.get()), TLS1_3_VERSION);
  SslCtxPtr ctx2(SSL_CTX_new(TLS_server_method()));
  ASSERT_TRUE(ApplyProtocols(ctx2.get(), *ParseProtocols("TLSv1.2")).ok());
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx2.get()), TLS1_2_VERSION);
  EXPECT_TRUE(SSL_CTX_get_options(ctx2.get()) & SSL_OP_NO_TLSv1_3);
}

TEST(Ciphers, GradesAndExclusions) {
  CipherLists l{"HIGH", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH", "LOW", "EXPORT", "eNULL:!aNULL"};
  EXPECT_EQ(*BuildCipherList("high", l, ""), "HIGH");
  EXPECT_EQ(*BuildCipherList("medium", l, "RC4, aNULL MD5"),
            "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH:!RC4:!aNULL:!MD5");
  EXPECT_EQ(*BuildCipherList("null", l, ""), "eNULL:!aNULL");
  EXPECT_FALSE(BuildCipherList("bogus", l, ""));
  EXPECT_FALSE(BuildCipherList("high", l, "!RC4"));
  EXPECT_FALSE(BuildCipherList("high", l, "+RC4"));
  EXPECT_FALSE(BuildCipherList("high", l, "@STRENGTH"));
  EXPECT_FALSE(BuildCipherList("high", l, "-MD5"));
}

}  // namespace
}  // namespace pftls::tls
