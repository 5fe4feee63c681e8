// Tests for tls/tickets (resumption with our key source, fallback to a full
// handshake for unknown keys) and tls/session (cache ids, DER round trip).
#include <gtest/gtest.h>
#include <openssl/rand.h>

#include <cstring>

#include "t/unit/tls/tls_testutil.h"
#include "tls/server_ctx.h"
#include "tls/session.h"
#include "tls/tickets.h"

namespace pftls::tls {
namespace {

class OneKey : public TicketKeySource {
 public:
  OneKey() {
    RAND_bytes(key_.name.data(), kTicketNameLen);
    RAND_bytes(key_.cipher_key.data(), kTicketCipherKeyLen);
    RAND_bytes(key_.hmac_key.data(), kTicketHmacKeyLen);
    key_.tout = time(nullptr) + 3600;
  }
  const TicketKey* ForEncryption(time_t) override {
    ++enc_calls;
    return &key_;
  }
  const TicketKey* ForDecryption(const uint8_t* name, time_t) override {
    ++dec_calls;
    if (forget) return nullptr;
    return std::memcmp(name, key_.name.data(), kTicketNameLen) == 0 ? &key_ : nullptr;
  }
  int enc_calls = 0, dec_calls = 0;
  bool forget = false;

 private:
  TicketKey key_;
};

class TicketTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    dir_ = testutil::TempDir();
    key_ = testutil::MakeKey("ec");
    cert_ = testutil::MakeSelfSigned(key_.get(), "t.example.test");
    testutil::WritePem(dir_ + "/both.pem", key_.get(), cert_.get());
    ServerSettings s;
    s.prefix = "tlsproxy_tls_";
    s.security_level = "may";
    s.cert_file = dir_ + "/both.pem";
    s.always_issue_session_ids = false;
    s.cipher_lists.medium = "HIGH";
    auto ctx = BuildServerContext(s);
    ASSERT_TRUE(ctx) << ctx.error();
    server_ = std::move(*ctx);
    ASSERT_NE(server_.ticket_cipher, nullptr);
    ASSERT_TRUE(InstallTicketKeys(server_.ctx.get(), server_.ticket_cipher, &keys_));
    client_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_max_proto_version(client_.get(), GetParam());
  }
  void TearDown() override { testutil::RemoveTree(dir_); }

  // One connection; returns whether it resumed and stores the session.
  bool Connect(SSL_SESSION* resume, SslSessionPtr* out) {
    SslPtr c, sv;
    testutil::Connect(client_.get(), server_.ctx.get(), &c, &sv);
    if (resume) SSL_set_session(c.get(), resume);
    EXPECT_TRUE(testutil::Handshake(c.get(), sv.get()));
    // TLS 1.3 tickets arrive after the handshake: read to process them.
    char buf[1];
    SSL_read(c.get(), buf, 1);
    if (out) out->reset(SSL_get1_session(c.get()));
    bool reused = SSL_session_reused(c.get()) == 1;
    // A client freed without shutdown would mark its session not resumable.
    SSL_set_shutdown(c.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_set_shutdown(sv.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    return reused;
  }

  std::string dir_;
  EvpPkeyPtr key_;
  X509Ptr cert_;
  ServerContext server_;
  SslCtxPtr client_;
  OneKey keys_;
};

TEST_P(TicketTest, ResumesWithOurKeys) {
  SslSessionPtr first;
  EXPECT_FALSE(Connect(nullptr, &first));
  ASSERT_TRUE(first);
  EXPECT_GE(keys_.enc_calls, 1);
  EXPECT_EQ(SSL_SESSION_has_ticket(first.get()), 1);
  EXPECT_EQ(SSL_SESSION_is_resumable(first.get()), 1);
  EXPECT_TRUE(Connect(first.get(), nullptr));
  EXPECT_GE(keys_.dec_calls, 1);
}

TEST_P(TicketTest, UnknownKeyFallsBackToFullHandshake) {
  SslSessionPtr first;
  Connect(nullptr, &first);
  ASSERT_TRUE(first);
  keys_.forget = true;
  EXPECT_FALSE(Connect(first.get(), nullptr));  // full handshake, no failure
}

INSTANTIATE_TEST_SUITE_P(Versions, TicketTest, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION));

TEST(Session, CacheIdFormat) {
  const unsigned char sid[] = {0x01, 0xab, 0xff};
  EXPECT_EQ(ServerCacheId(sid, 3, "smtpd"), "01ABFF&s=smtpd&l=" + std::to_string(OpenSSL_version_num()));
}

TEST(Session, DerRoundTripAndRejects) {
  EvpPkeyPtr key = testutil::MakeKey("ec");
  X509Ptr cert = testutil::MakeSelfSigned(key.get(), "s.example.test");
  SslCtxPtr sctx(SSL_CTX_new(TLS_server_method())), cctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_use_certificate(sctx.get(), cert.get());
  SSL_CTX_use_PrivateKey(sctx.get(), key.get());
  SSL_CTX_set_max_proto_version(cctx.get(), TLS1_2_VERSION);
  SslPtr c, sv;
  testutil::Connect(cctx.get(), sctx.get(), &c, &sv);
  ASSERT_TRUE(testutil::Handshake(c.get(), sv.get()));
  SslSessionPtr s(SSL_get1_session(sv.get()));
  ASSERT_TRUE(s);
  auto der = SerializeSession(s.get());
  ASSERT_TRUE(der) << der.error();
  EXPECT_TRUE(ParseSession(der->data(), der->size()));
  std::vector<uint8_t> trailing = *der;
  trailing.push_back(0);
  EXPECT_FALSE(ParseSession(trailing.data(), trailing.size()));
  std::vector<uint8_t> garbage(100, 0x41);
  EXPECT_FALSE(ParseSession(garbage.data(), garbage.size()));
  EXPECT_FALSE(ParseSession(der->data(), der->size() - 1));
  EXPECT_FALSE(ParseSession(nullptr, 0));
}

}  // namespace
}  // namespace pftls::tls
