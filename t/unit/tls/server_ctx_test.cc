// Tests for tls/server_ctx and tls/certs: contexts from settings, certificate
// loading errors naming parameter and file, and real in-memory handshakes.
#include "tls/server_ctx.h"

#include <gtest/gtest.h>

#include <fstream>

#include "t/unit/tls/tls_testutil.h"
#include "tls/certs.h"
#include "tls/facts.h"

namespace pftls::tls {
namespace {

using testutil::Connect;
using testutil::Handshake;

class ServerCtxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::TempDir();
    rsa_ = testutil::MakeKey("rsa");
    ec_ = testutil::MakeKey("ec");
    rsa_cert_ = testutil::MakeSelfSigned(rsa_.get(), "rsa.example.test");
    ec_cert_ = testutil::MakeSelfSigned(ec_.get(), "ec.example.test");
    testutil::WritePem(dir_ + "/rsa-key.pem", rsa_.get(), nullptr);
    testutil::WritePem(dir_ + "/rsa-cert.pem", nullptr, rsa_cert_.get());
    testutil::WritePem(dir_ + "/ec-key.pem", ec_.get(), nullptr);
    testutil::WritePem(dir_ + "/ec-cert.pem", nullptr, ec_cert_.get());
    testutil::WritePem(dir_ + "/rsa-both.pem", rsa_.get(), rsa_cert_.get());
    s_.prefix = "tlsproxy_tls_";
    s_.security_level = "may";
    s_.cipher_lists = {"aNULL:-aNULL:HIGH:@STRENGTH", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH",
                       "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH",
                       "aNULL:-aNULL:HIGH:MEDIUM:LOW:EXPORT:+RC4:@STRENGTH", "eNULL:!aNULL"};
    client_.reset(SSL_CTX_new(TLS_client_method()));
  }
  void TearDown() override { testutil::RemoveTree(dir_); }

  std::string dir_;
  EvpPkeyPtr rsa_, ec_;
  X509Ptr rsa_cert_, ec_cert_;
  ServerSettings s_;
  SslCtxPtr client_;
};

TEST_F(ServerCtxTest, LevelNoneIsDisabled) {
  s_.security_level = "none";
  auto ctx = BuildServerContext(s_);
  ASSERT_TRUE(ctx) << ctx.error();
  EXPECT_FALSE(ctx->enabled);
}

TEST_F(ServerCtxTest, NoCertificateIsDisabledNotFatal) {
  auto ctx = BuildServerContext(s_);
  ASSERT_TRUE(ctx) << ctx.error();
  EXPECT_FALSE(ctx->enabled);
}

TEST_F(ServerCtxTest, MissingCertificateNamesParameterAndFile) {
  s_.cert_file = dir_ + "/nonexistent.pem";
  s_.key_file = dir_ + "/rsa-key.pem";
  auto ctx = BuildServerContext(s_);
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().find("tlsproxy_tls_cert_file: " + dir_ + "/nonexistent.pem"), std::string::npos)
      << ctx.error();
}

TEST_F(ServerCtxTest, MismatchedKeyIsAnError) {
  s_.cert_file = dir_ + "/rsa-cert.pem";
  s_.key_file = dir_ + "/ec-key.pem";
  auto ctx = BuildServerContext(s_);
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().find("does not match"), std::string::npos) << ctx.error();
}

TEST_F(ServerCtxTest, BadKeyFileNamesKeyParameter) {
  std::ofstream(dir_ + "/junk.pem") << "not a key\n";
  s_.cert_file = dir_ + "/rsa-cert.pem";
  s_.key_file = dir_ + "/junk.pem";
  auto ctx = BuildServerContext(s_);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().rfind("tlsproxy_tls_key_file: " + dir_ + "/junk.pem", 0), 0u) << ctx.error();
}

TEST_F(ServerCtxTest, RsaHandshakeTls13AndSummaryLine) {
  s_.cert_file = dir_ + "/rsa-both.pem";  // key_file empty: key in the cert file
  auto ctx = BuildServerContext(s_);
  ASSERT_TRUE(ctx) << ctx.error();
  ASSERT_TRUE(ctx->enabled);
  SslPtr c, sv;
  Connect(client_.get(), ctx->ctx.get(), &c, &sv);
  ASSERT_TRUE(Handshake(c.get(), sv.get()));
  SessionFacts f = DescribeServerSession(sv.get(), EVP_sha256());
  EXPECT_EQ(f.protocol, "TLSv1.3");
  EXPECT_EQ(f.kex_name, "X25519");
  EXPECT_EQ(SummaryLine(f, "from", "[192.0.2.1]:54321"),
            "Anonymous TLS connection established from [192.0.2.1]:54321: TLSv1.3 with cipher "
            "TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS "
            "(2048 bits) server-digest SHA256");
}

TEST_F(ServerCtxTest, EcdsaTls12Handshake) {
  s_.eccert_file = dir_ + "/ec-cert.pem";
  s_.eckey_file = dir_ + "/ec-key.pem";
  s_.protocols = "<=TLSv1.2";
  auto ctx = BuildServerContext(s_);
  ASSERT_TRUE(ctx) << ctx.error();
  SslPtr c, sv;
  Connect(client_.get(), ctx->ctx.get(), &c, &sv);
  ASSERT_TRUE(Handshake(c.get(), sv.get()));
  SessionFacts f = DescribeServerSession(sv.get(), EVP_sha256());
  EXPECT_EQ(f.protocol, "TLSv1.2");
  EXPECT_EQ(f.srvr_sig, "ECDSA");
  EXPECT_EQ(f.srvr_sig_curve, "prime256v1");
  EXPECT_NE(SummaryLine(f, "from", "x").find(" server-signature ECDSA (prime256v1)"), std::string::npos);
}

TEST_F(ServerCtxTest, ChainFilesKeyThenCertAndBothAlgorithms) {
  testutil::WritePem(dir_ + "/ec-both.pem", ec_.get(), ec_cert_.get());
  s_.chain_files = {dir_ + "/rsa-both.pem", dir_ + "/ec-both.pem"};
  auto groups = ReadChainFiles(s_.chain_files);
  ASSERT_TRUE(groups) << groups.error();
  EXPECT_EQ(groups->size(), 2u);
  auto ctx = BuildServerContext(s_);
  ASSERT_TRUE(ctx) << ctx.error();
  EXPECT_TRUE(ctx->enabled);
}

TEST_F(ServerCtxTest, ChainFilesCertBeforeKey) {
  testutil::WritePem(dir_ + "/c.pem", nullptr, rsa_cert_.get());
  std::ofstream out(dir_ + "/cert-then-key.pem");
  out << std::ifstream(dir_ + "/rsa-cert.pem").rdbuf() << std::ifstream(dir_ + "/rsa-key.pem").rdbuf();
  out.close();
  auto groups = ReadChainFiles({dir_ + "/cert-then-key.pem"});
  ASSERT_TRUE(groups) << groups.error();
  EXPECT_EQ(groups->size(), 1u);
}

TEST_F(ServerCtxTest, ChainFilesKeyWithoutCertificate) {
  auto groups = ReadChainFiles({dir_ + "/rsa-key.pem"});
  ASSERT_FALSE(groups);
}

TEST_F(ServerCtxTest, EncryptLevelUsesMandatoryProtocols) {
  s_.cert_file = dir_ + "/rsa-both.pem";
  s_.security_level = "encrypt";
  s_.mandatory_protocols = "TLSv1.2";
  auto ctx = BuildServerContext(s_);
  ASSERT_TRUE(ctx) << ctx.error();
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx->ctx.get()), TLS1_2_VERSION);
}

TEST_F(ServerCtxTest, CurveGrades) {
  s_.cert_file = dir_ + "/rsa-both.pem";
  s_.eecdh_grade = "ultra";
  ASSERT_TRUE(BuildServerContext(s_));
  s_.eecdh_grade = "bogus";
  auto bad = BuildServerContext(s_);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("tlsproxy_tls_eecdh_grade"), std::string::npos);
  s_.eecdh_grade = "auto";
  s_.eecdh_auto_curves = "nosuchcurve X25519";
  ASSERT_TRUE(BuildServerContext(s_));  // unknown curves are skipped
}

TEST_F(ServerCtxTest, BadTicketCipherDisablesTicketsOnly) {
  s_.cert_file = dir_ + "/rsa-both.pem";
  s_.ticket_cipher = "aes-256-gcm";
  auto ctx = BuildServerContext(s_);
  ASSERT_TRUE(ctx) << ctx.error();
  EXPECT_TRUE(ctx->enabled);
  EXPECT_EQ(ctx->ticket_cipher, nullptr);
  s_.ticket_cipher = "aes-128-cbc";
  EXPECT_NE(BuildServerContext(s_)->ticket_cipher, nullptr);
}

TEST_F(ServerCtxTest, ClientCertificateIsReported) {
  s_.cert_file = dir_ + "/rsa-both.pem";
  s_.ask_ccert = true;
  auto ctx = BuildServerContext(s_);
  ASSERT_TRUE(ctx) << ctx.error();
  ASSERT_EQ(SSL_CTX_use_certificate(client_.get(), ec_cert_.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(client_.get(), ec_.get()), 1);
  SslPtr c, sv;
  Connect(client_.get(), ctx->ctx.get(), &c, &sv);
  ASSERT_TRUE(Handshake(c.get(), sv.get()));
  SessionFacts f = DescribeServerSession(sv.get(), EVP_sha256());
  EXPECT_EQ(f.peer_CN, "ec.example.test");
  EXPECT_EQ(f.issuer_CN, "ec.example.test");
  EXPECT_EQ(f.peer_status & kPeerPresent, kPeerPresent);
  EXPECT_EQ(f.peer_status & kPeerTrusted, 0);  // self-signed, not in CAfile
  EXPECT_EQ(f.peer_fingerprint.size(), 32u * 3 - 1);
  EXPECT_EQ(f.clnt_sig, "ECDSA");
  EXPECT_EQ(SummaryLine(f, "from", "h").rfind("Untrusted TLS connection established from h: ", 0), 0u);
}

}  // namespace
}  // namespace pftls::tls
