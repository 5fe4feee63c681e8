// Round trips for ipc/msg_tlsproxy.h and ipc/msg_context.h against
// reference bytes written by hand from spec §3.2-§3.4 and §3.8.
#include <gtest/gtest.h>

#include <string>

#include "ipc/msg_context.h"
#include "ipc/msg_tlsproxy.h"

namespace pftls::ipc {
namespace {

#define B(s) std::string(s, sizeof(s) - 1)

Record Parse(const std::string& wire) {
  Result<Record> r = ParseRecord(wire);
  EXPECT_TRUE(r) << r.error();
  return r ? std::move(*r) : Record{};
}

// spec §3.2 step 3, as sent by postscreen 3.7.
const std::string kPostscreenRequest =
    B("remote_endpoint\0[192.0.2.1]:54321\0flags\0" "1\0timeout\0" "300\0timeout\0" "300\0serverid\0smtpd\0\0");

TEST(MsgTlsproxy, PostscreenRequestBothWays) {
  Result<TlsproxyRequest> r = TlsproxyRequest::Decode(Parse(kPostscreenRequest));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->remote_endpoint, "[192.0.2.1]:54321");
  EXPECT_EQ(r->flags, kTlsproxyRoleServer);
  EXPECT_EQ(r->handshake_timeout, 300u);
  EXPECT_EQ(r->session_timeout, 300u);
  EXPECT_EQ(r->serverid, "smtpd");
  EXPECT_FALSE(r->alpn);
  EXPECT_TRUE(r->Validate());
  EXPECT_EQ(*r->Encode(), kPostscreenRequest);
}

TEST(MsgTlsproxy, DistinctTimeoutsKeepTheirOrder) {
  Result<TlsproxyRequest> r = TlsproxyRequest::Decode(Parse(
      B("remote_endpoint\0[::1]:25\0flags\0" "6\0timeout\0" "10\0timeout\0" "20\0serverid\0smtp\0\0")));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->handshake_timeout, 10u);
  EXPECT_EQ(r->session_timeout, 20u);
  EXPECT_TRUE(r->Validate());  // client role + SEND_CONTEXT
}

TEST(MsgTlsproxy, AlpnExtensionOptional) {
  const std::string wire = kPostscreenRequest.substr(0, kPostscreenRequest.size() - 1) + B("pftls_alpn\0h2,http/1.1\0\0");
  Result<TlsproxyRequest> r = TlsproxyRequest::Decode(Parse(wire));
  ASSERT_TRUE(r) << r.error();
  ASSERT_TRUE(r->alpn);
  EXPECT_EQ(*r->alpn, "h2,http/1.1");
  EXPECT_TRUE(r->Validate());
  EXPECT_EQ(*r->Encode(), wire);
  r->alpn = "h2,,x";
  EXPECT_FALSE(r->Validate());
  // anything else after serverid is still an extra attribute
  EXPECT_FALSE(TlsproxyRequest::Decode(
      Parse(kPostscreenRequest.substr(0, kPostscreenRequest.size() - 1) + B("other\0x\0\0"))));
}

TEST(MsgTlsproxy, PftlsFlagsThenAlpn) {
  const std::string base = kPostscreenRequest.substr(0, kPostscreenRequest.size() - 1);
  const std::string wire = base + B("pftls_flags\0" "1\0pftls_alpn\0h2\0\0");
  Result<TlsproxyRequest> r = TlsproxyRequest::Decode(Parse(wire));
  ASSERT_TRUE(r) << r.error();
  ASSERT_TRUE(r->pftls_flags);
  EXPECT_EQ(*r->pftls_flags, kPftlsHalfClose);
  EXPECT_EQ(*r->alpn, "h2");
  EXPECT_TRUE(r->HasPftls());
  EXPECT_TRUE(r->Validate());
  EXPECT_EQ(*r->Encode(), wire);
  // flags alone
  Result<TlsproxyRequest> f = TlsproxyRequest::Decode(Parse(base + B("pftls_flags\0" "1\0\0")));
  ASSERT_TRUE(f) << f.error();
  EXPECT_FALSE(f->alpn);
  EXPECT_TRUE(f->HasPftls());
  EXPECT_FALSE(TlsproxyRequest::Decode(Parse(kPostscreenRequest))->HasPftls());
  // wrong order, unknown bits
  EXPECT_FALSE(TlsproxyRequest::Decode(Parse(base + B("pftls_alpn\0h2\0pftls_flags\0" "1\0\0"))));
  f->pftls_flags = 2;
  EXPECT_FALSE(f->Validate());
}

TEST(MsgTlsproxy, MalformedAndInvalid) {
  // ≤3.3 form: one timeout and server_id
  Result<TlsproxyRequest> old = TlsproxyRequest::Decode(
      Parse(B("remote_endpoint\0[192.0.2.1]:1\0flags\0" "1\0timeout\0" "300\0server_id\0smtpd\0\0")));
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().find("server_id"), std::string::npos) << old.error();
  EXPECT_FALSE(TlsproxyRequest::Decode(Parse(B("remote_endpoint\0x\0flags\0" "1\0\0"))));
  TlsproxyRequest r = *TlsproxyRequest::Decode(Parse(kPostscreenRequest));
  for (uint32_t f : {0u, 3u, 4u, 16u, 0x101u}) {
    r.flags = f;
    Status s = r.Validate();
    ASSERT_FALSE(s) << f;
    EXPECT_EQ(s.error().rfind("bad request flags: 0x", 0), 0u);
  }
  r.flags = 1;
  r.handshake_timeout = 0;
  EXPECT_FALSE(r.Validate());
  r.handshake_timeout = 300;
  r.remote_endpoint.assign(kMaxEndpointLen + 1, 'x');
  EXPECT_FALSE(r.Validate());
}

TEST(MsgTlsproxy, DirectRelayNeedsContextAndDoneRoundTrips) {
  TlsproxyRequest r{"[192.0.2.1]:1", kTlsproxyRoleServer, 60, 300, "tlsfront", kPftlsDirectRelay, std::nullopt};
  EXPECT_FALSE(r.Validate());
  r.flags |= kTlsproxySendContext;
  EXPECT_TRUE(r.Validate());
  r.pftls_flags = kPftlsDirectRelay | kPftlsHalfClose | kPftlsEarlyFd;
  EXPECT_TRUE(r.Validate());
  r.pftls_flags = kPftlsDirectRelay | kPftlsHalfClose | (1u << 3);
  EXPECT_FALSE(r.Validate());
  TlsproxyDone d{1ull << 40, 7};
  Result<std::string> wire = d.Encode();
  ASSERT_TRUE(wire);
  Result<TlsproxyDone> back = TlsproxyDone::Decode(Parse(*wire));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, d);
}

TEST(MsgTlsproxy, Status) {
  EXPECT_EQ(*TlsproxyStatus{1}.Encode(), B("status\0" "1\0\0"));
  EXPECT_EQ(*TlsproxyStatus{0}.Encode(), B("status\0" "0\0\0"));
  EXPECT_EQ(TlsproxyStatus::Decode(Parse(B("status\0" "1\0\0")))->status, 1u);
  EXPECT_FALSE(TlsproxyStatus::Decode(Parse(B("status\0" "1\0x\0y\0\0"))));
  EXPECT_FALSE(TlsproxyStatus{2}.Validate());
}

// spec §3.8: the observed 3.7.11 context for an anonymous TLS 1.3 client.
const std::string kContext37 = B(
    "peer_CN\0\0issuer_CN\0\0peer_fingerprint\0\0peer_pubkey_fingerprint\0\0"
    "level\0" "0\0peer_status\0" "0\0cipher_protocol\0TLSv1.3\0cipher_name\0TLS_AES_256_GCM_SHA384\0"
    "cipher_usebits\0" "256\0cipher_algbits\0" "256\0key_exchange\0X25519\0key_exchange_curve\0\0"
    "key_exchange_bits\0" "0\0clnt_signature\0\0clnt_signature_curve\0\0clnt_signature_bits\0" "0\0"
    "clnt_signature_digest\0\0srvr_signature\0RSA-PSS\0srvr_signature_curve\0\0"
    "srvr_signature_bits\0" "2048\0srvr_signature_digest\0SHA256\0namaddr\0[192.0.2.1]:54321\0\0");

TEST(MsgContext, Observed37ContextBothWays) {
  Record rec = Parse(kContext37);
  EXPECT_EQ(rec.size(), kTlsContextAttrCount);
  Result<TlsContext> c = TlsContext::Decode(rec);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->cipher_protocol, "TLSv1.3");
  EXPECT_EQ(c->cipher_name, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(c->cipher_usebits, 256u);
  EXPECT_EQ(c->key_exchange, "X25519");
  EXPECT_EQ(c->srvr_signature_bits, 2048u);
  EXPECT_EQ(c->namaddr, "[192.0.2.1]:54321");
  EXPECT_TRUE(c->peer_CN.empty());
  EXPECT_TRUE(c->Validate());
  EXPECT_EQ(*c->Encode(), kContext37);
}

TEST(MsgContext, ExactCountAndOrder) {
  // 3.9 adds ctos_rpk after key_exchange_bits: a 3.7 receiver rejects it.
  std::string with_rpk = kContext37;
  size_t at = with_rpk.find(B("clnt_signature\0"));
  with_rpk.insert(at, B("ctos_rpk\0" "0\0"));
  EXPECT_FALSE(TlsContext::Decode(Parse(with_rpk)));
  std::string short_list = kContext37.substr(0, kContext37.find(B("namaddr\0"))) + std::string(1, '\0');
  Result<TlsContext> s = TlsContext::Decode(Parse(short_list));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("missing attribute \"namaddr\""), std::string::npos);
  TlsContext neg;
  neg.level = -1;
  EXPECT_EQ(TlsContext::Decode(Parse(*neg.Encode()))->level, -1);
  neg.level = 9;
  EXPECT_FALSE(neg.Validate());
}

TEST(MsgContext, PftlsAlpnExtension) {
  const std::string wire = kContext37.substr(0, kContext37.size() - 1) + B("pftls_alpn\0h2\0\0");
  Result<TlsContext> c = TlsContext::Decode(Parse(wire));
  ASSERT_TRUE(c) << c.error();
  ASSERT_TRUE(c->alpn);
  EXPECT_EQ(*c->alpn, "h2");
  EXPECT_TRUE(c->Validate());
  EXPECT_EQ(*c->Encode(), wire);
  EXPECT_FALSE(TlsContext::Decode(Parse(kContext37))->alpn);
  c->alpn = std::string(kMaxAlpnProtocolLen + 1, 'x');
  EXPECT_FALSE(c->Validate());
  EXPECT_FALSE(TlsContext::Decode(Parse(kContext37.substr(0, kContext37.size() - 1) + B("other\0x\0\0"))));
}

}  // namespace
}  // namespace pftls::ipc
