// Round trips for ipc/msg_tlsmgr.h and ipc/msg_announce.h against
// reference bytes written by hand from spec §2.5, §5.2 and §5.5.
#include <openssl/evp.h>

#include <gtest/gtest.h>

#include <cstring>
#include <ctime>
#include <string>

#include "ipc/msg_announce.h"
#include "ipc/msg_tlsmgr.h"

namespace pftls::ipc {
namespace {

#define B(s) std::string(s, sizeof(s) - 1)

Record Parse(const std::string& wire) {
  Result<Record> r = ParseRecord(wire);
  EXPECT_TRUE(r) << r.error();
  return r ? std::move(*r) : Record{};
}

SecretBytes Bytes(const std::string& s) { return SecretBytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

template <class T>
T DecodeReq(const std::string& wire) {
  Result<TlsmgrRequest> v = DecodeTlsmgrRequest(Parse(wire));
  EXPECT_TRUE(v) << v.error();
  EXPECT_TRUE(v && std::holds_alternative<T>(*v));
  return v && std::holds_alternative<T>(*v) ? std::move(std::get<T>(*v)) : T{};
}

TEST(MsgAnnounce, TlsmgrAndTlsproxy) {
  const std::string mgr = B("protocol\0tlsmgr_protocol\0\0");
  const std::string proxy = B("protocol\0tlsproxy_protocol\0\0");
  EXPECT_EQ(*Announce{std::string(kTlsmgrProtocol)}.Encode(), mgr);
  EXPECT_EQ(*Announce{std::string(kTlsproxyProtocol)}.Encode(), proxy);
  Result<Announce> a = Announce::Decode(Parse(mgr));
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->Validate(kTlsmgrProtocol));
  Status wrong = a->Validate(kTlsproxyProtocol);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().find("unexpected protocol"), std::string::npos);
  EXPECT_FALSE(Announce::Decode(Parse(B("protocol\0x\0extra\0y\0\0"))));
  EXPECT_FALSE(Announce::Decode(Parse(B("\0"))));
}

TEST(MsgTlsmgr, SeedRequestAndReply) {
  const std::string req = B("request\0seed\0size\0" "32\0\0");
  EXPECT_EQ(*SeedRequest{32}.Encode(), req);
  EXPECT_EQ(DecodeReq<SeedRequest>(req).size, 32u);
  // spec §2.2 observed reply
  const std::string rep = B("status\0" "0\0seed\0Mpq6FrLJUeUQjjCFbSdjTDQARMEhEJ5kL4QQxi+AT+I=\0\0");
  Result<SeedReply> r = SeedReply::Decode(Parse(rep));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 0);
  EXPECT_EQ(r->seed.size(), 32u);
  EXPECT_TRUE(r->Validate());
  EXPECT_EQ(*r->Encode(), rep);
  // spec §5.2: bogus size -> status -2 and an empty seed
  EXPECT_EQ(*SeedReply::Fail().Encode(), B("status\0" "4294967294\0seed\0\0\0"));
}

TEST(MsgTlsmgr, SeedValidate) {
  EXPECT_FALSE(SeedRequest{0}.Validate());
  EXPECT_TRUE(SeedRequest{1}.Validate());
  EXPECT_TRUE(SeedRequest{255}.Validate());
  Status s = SeedRequest{256}.Validate();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), "bogus seed length \"256\"");
}

TEST(MsgTlsmgr, PolicyRequestAndReply) {
  const std::string req = B("request\0policy\0cache_type\0smtpd\0\0");
  EXPECT_EQ(*PolicyRequest{"smtpd"}.Encode(), req);
  EXPECT_EQ(DecodeReq<PolicyRequest>(req).cache_type, "smtpd");
  const std::string rep = B("status\0" "0\0cachable\0" "1\0timeout\0" "3600\0\0");
  Result<PolicyReply> r = PolicyReply::Decode(Parse(rep));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cachable, 1u);
  EXPECT_EQ(r->timeout, 3600u);
  EXPECT_EQ(*(PolicyReply{0, 1, 3600}.Encode()), rep);
  EXPECT_EQ(*PolicyReply::Fail().Encode(), B("status\0" "4294967294\0cachable\0" "0\0timeout\0" "0\0\0"));
  EXPECT_FALSE(PolicyRequest{"smtpx"}.Validate());
  EXPECT_TRUE(PolicyRequest{"lmtp"}.Validate());
  EXPECT_FALSE((PolicyReply{0, 2, 0}.Validate()));
}

TEST(MsgTlsmgr, LookupRequestAndReply) {
  const std::string req = B("request\0lookup\0cache_type\0smtpd\0cache_id\0" "0A1B&s=smtpd&l=805306608\0\0");
  EXPECT_EQ(*(LookupRequest{"smtpd", "0A1B&s=smtpd&l=805306608"}.Encode()), req);
  LookupRequest got = DecodeReq<LookupRequest>(req);
  EXPECT_EQ(got.cache_type, "smtpd");
  EXPECT_EQ(got.cache_id, "0A1B&s=smtpd&l=805306608");
  const std::string hit = B("status\0" "0\0session\0QUJD\0\0");  // "ABC"
  Result<LookupReply> r = LookupReply::Decode(Parse(hit));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->session.Equal(Bytes("ABC")));
  EXPECT_EQ(*r->Encode(), hit);
  const std::string miss = B("status\0" "4294967295\0session\0\0\0");
  Result<LookupReply> m = LookupReply::Decode(Parse(miss));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, kStatErr);
  EXPECT_TRUE(m->Validate());
  EXPECT_FALSE((LookupRequest{"smtpd", ""}.Validate()));
  EXPECT_FALSE((LookupRequest{"smtpd", std::string(kMaxCacheIdLen + 1, 'x')}.Validate()));
}

TEST(MsgTlsmgr, UpdateDeleteAndStatus) {
  const std::string up = B("request\0update\0cache_type\0smtp\0cache_id\0id1\0session\0AAEC\0\0");
  UpdateRequest u{"smtp", "id1", Bytes(std::string("\x00\x01\x02", 3))};
  EXPECT_EQ(*u.Encode(), up);
  UpdateRequest got = DecodeReq<UpdateRequest>(up);
  EXPECT_EQ(got.cache_id, "id1");
  EXPECT_TRUE(got.session.Equal(u.session));
  EXPECT_TRUE(got.Validate());
  EXPECT_FALSE((UpdateRequest{"smtp", "id1", SecretBytes(kMaxSessionLen + 1)}.Validate()));
  EXPECT_FALSE((UpdateRequest{"smtp", "id1", SecretBytes()}.Validate()));
  const std::string del = B("request\0delete\0cache_type\0lmtp\0cache_id\0id2\0\0");
  EXPECT_EQ(*(DeleteRequest{"lmtp", "id2"}.Encode()), del);
  EXPECT_EQ(DecodeReq<DeleteRequest>(del).cache_type, "lmtp");
  const std::string ok = B("status\0" "0\0\0");
  EXPECT_EQ(*StatusReply{0}.Encode(), ok);
  EXPECT_EQ(StatusReply::Decode(Parse(ok))->status, 0);
  EXPECT_FALSE(StatusReply::Decode(Parse(B("status\0" "0\0extra\0" "1\0\0"))));
  EXPECT_FALSE((StatusReply{5}.Validate()));
}

// The native key record: hand-assembled 88 bytes, base64 by OpenSSL.
TEST(MsgTlsmgr, TktkeyRequestReplyAndKeyRecord) {
  const std::string empty = B("request\0tktkey\0keyname\0\0\0");
  EXPECT_EQ(*TktkeyRequest{""}.Encode(), empty);
  EXPECT_TRUE(DecodeReq<TktkeyRequest>(empty).keyname.empty());
  // 16 bytes 0x00..0x0f -> base64 AAECAwQFBgcICQoLDA0ODw==
  const std::string named = B("request\0tktkey\0keyname\0AAECAwQFBgcICQoLDA0ODw==\0\0");
  std::string name16;
  for (int i = 0; i < 16; ++i) name16.push_back(static_cast<char>(i));
  EXPECT_EQ(*TktkeyRequest{name16}.Encode(), named);
  EXPECT_EQ(DecodeReq<TktkeyRequest>(named).keyname, name16);
  Status bad = TktkeyRequest{"short"}.Validate();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "invalid session ticket key name length: 5");

  uint8_t raw[88];
  for (int i = 0; i < 16; ++i) raw[i] = static_cast<uint8_t>(i);          // name
  for (int i = 16; i < 48; ++i) raw[i] = 0xaa;                              // bits
  for (int i = 48; i < 80; ++i) raw[i] = 0xbb;                              // hmac
  const uint8_t tout_le[8] = {0x00, 0x10, 0x00, 0x65, 0x00, 0x00, 0x00, 0x00};  // 0x65001000
  std::memcpy(raw + 80, tout_le, 8);
  unsigned char b64[200];
  int n = EVP_EncodeBlock(b64, raw, sizeof(raw));
  std::string wire = B("status\0" "0\0keybuf\0") + std::string(reinterpret_cast<char*>(b64), n) + B("\0\0");
  Result<TktkeyReply> r = TktkeyReply::Decode(Parse(wire));
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->Validate());
  EXPECT_EQ(*r->Encode(), wire);
  Result<TicketKey> key = TicketKey::Parse(r->keybuf.span());
  ASSERT_TRUE(key);
  EXPECT_EQ(key->name[15], 15);
  EXPECT_EQ(key->bits.data()[0], 0xaa);
  EXPECT_EQ(key->bits.data()[31], 0xaa);
  EXPECT_EQ(key->hmac.data()[0], 0xbb);
  EXPECT_EQ(key->tout, 0x65001000);
  SecretBytes again = key->Serialize();
  ASSERT_EQ(again.size(), 88u);
  EXPECT_EQ(std::memcmp(again.data(), raw, 88), 0);
  EXPECT_FALSE(TicketKey::Parse(std::span<const uint8_t>(raw, 87)));
  EXPECT_FALSE((TktkeyReply{0, SecretBytes(87)}.Validate()));
  // -1 echoes the requested name (spec §5.2)
  TktkeyReply miss{kStatErr, Bytes(name16)};
  EXPECT_TRUE(miss.Validate());
  EXPECT_EQ(*miss.Encode(), B("status\0" "4294967295\0keybuf\0AAECAwQFBgcICQoLDA0ODw==\0\0"));
}

TEST(MsgTlsmgr, RequestDispatchErrors) {
  Result<TlsmgrRequest> unknown = DecodeTlsmgrRequest(Parse(B("request\0bogus\0\0")));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("unknown tlsmgr request"), std::string::npos);
  Result<TlsmgrRequest> first = DecodeTlsmgrRequest(Parse(B("size\0" "32\0request\0seed\0\0")));
  ASSERT_FALSE(first);
  EXPECT_NE(first.error().find("first attribute"), std::string::npos);
  Result<TlsmgrRequest> extra = DecodeTlsmgrRequest(Parse(B("request\0seed\0size\0" "32\0x\0y\0\0")));
  ASSERT_FALSE(extra);
  EXPECT_NE(extra.error().find("extra attribute"), std::string::npos);
  Result<TlsmgrRequest> missing = DecodeTlsmgrRequest(Parse(B("request\0lookup\0cache_type\0smtpd\0\0")));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("missing attribute \"cache_id\""), std::string::npos);
  Result<TlsmgrRequest> order =
      DecodeTlsmgrRequest(Parse(B("request\0lookup\0cache_id\0x\0cache_type\0smtpd\0\0")));
  ASSERT_FALSE(order);
  EXPECT_NE(order.error().find("unexpected attribute \"cache_id\""), std::string::npos);
  EXPECT_FALSE(DecodeTlsmgrRequest(Parse(B("request\0update\0cache_type\0smtpd\0cache_id\0x\0session\0!!!!\0\0"))));
  EXPECT_FALSE(DecodeTlsmgrRequest(Parse(B("request\0seed\0size\0" "4294967296\0\0"))));
}

TEST(MsgTlsmgr, VariantCoversAllSix) {
  const std::string wires[] = {
      B("request\0seed\0size\0" "1\0\0"),
      B("request\0policy\0cache_type\0smtp\0\0"),
      B("request\0lookup\0cache_type\0smtp\0cache_id\0a\0\0"),
      B("request\0update\0cache_type\0smtp\0cache_id\0a\0session\0QQ==\0\0"),
      B("request\0delete\0cache_type\0smtp\0cache_id\0a\0\0"),
      B("request\0tktkey\0keyname\0\0\0"),
  };
  for (size_t i = 0; i < std::size(wires); ++i) {
    Result<TlsmgrRequest> v = DecodeTlsmgrRequest(Parse(wires[i]));
    ASSERT_TRUE(v) << v.error();
    EXPECT_EQ(v->index(), i);
    std::string reencoded = std::visit([](const auto& m) { return *m.Encode(); }, *v);
    EXPECT_EQ(reencoded, wires[i]);
  }
}

}  // namespace
}  // namespace pftls::ipc
