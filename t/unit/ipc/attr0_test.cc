// Tests for ipc/attr0.h: reference bytes are written by hand from the spec
// (§2.1, §2.2, §2.6), never produced by the encoder under test.
#include <gtest/gtest.h>

#include <string>

#include "ipc/attr0.h"

namespace pftls::ipc {
namespace {

// B - a byte string with embedded NULs from a literal.
#define B(s) std::string(s, sizeof(s) - 1)

std::string Str(const SecretBytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// The spec §2.2 observed seed request parses and is what the writer emits.
TEST(Attr0, SpecSeedRequestBothWays) {
  const std::string wire = B("request\0seed\0size\0" "32\0\0");
  Result<Record> rec = ParseRecord(wire);
  ASSERT_TRUE(rec) << rec.error();
  Reader r(*rec, Reader::kStrict);
  EXPECT_EQ(*r.Str("request"), "seed");
  EXPECT_EQ(*r.Int("size"), 32u);
  EXPECT_TRUE(r.End());
  Result<std::string> out = Writer().Str("request", "seed").Int("size", 32).Finish();
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, wire);
}

// The spec §2.2 observed seed reply: DATA decodes to 32 bytes.
TEST(Attr0, SpecSeedReplyData) {
  const std::string wire = B("status\0" "0\0seed\0Mpq6FrLJUeUQjjCFbSdjTDQARMEhEJ5kL4QQxi+AT+I=\0\0");
  Result<Record> rec = ParseRecord(wire);
  ASSERT_TRUE(rec) << rec.error();
  Reader r(*rec, Reader::kStrict);
  EXPECT_EQ(*r.IntSigned("status"), 0);
  Result<SecretBytes> seed = r.Data("seed");
  ASSERT_TRUE(seed) << seed.error();
  EXPECT_EQ(seed->size(), 32u);
  EXPECT_EQ(seed->data()[0], 0x32);  // 'M','p' -> 0x32 0x9a
  EXPECT_EQ(seed->data()[1], 0x9a);
  EXPECT_EQ(Base64Encode(seed->span()), "Mpq6FrLJUeUQjjCFbSdjTDQARMEhEJ5kL4QQxi+AT+I=");
}

// §2.6: -1 travels as 4294967295, -2 as 4294967294.
TEST(Attr0, NegativeStatusAsUnsignedImage) {
  const std::string m1 = B("status\0" "4294967295\0\0");
  const std::string m2 = B("status\0" "4294967294\0\0");
  EXPECT_EQ(*Writer().IntSigned("status", -1).Finish(), m1);
  EXPECT_EQ(*Writer().IntSigned("status", -2).Finish(), m2);
  Result<Record> r1 = ParseRecord(m1);
  ASSERT_TRUE(r1);
  EXPECT_EQ(*Reader(*r1, Reader::kStrict).IntSigned("status"), -1);
  Result<Record> r2 = ParseRecord(m2);
  ASSERT_TRUE(r2);
  EXPECT_EQ(*Reader(*r2, Reader::kStrict).IntSigned("status"), -2);
}

TEST(Attr0, LongAndEmptyData) {
  const std::string wire = B("n\0" "18446744073709551615\0d\0\0\0");
  Result<Record> rec = ParseRecord(wire);
  ASSERT_TRUE(rec);
  Reader r(*rec, Reader::kStrict);
  EXPECT_EQ(*r.Long("n"), UINT64_MAX);
  Result<SecretBytes> d = r.Data("d");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->empty());
  EXPECT_EQ(*Writer().Long("n", UINT64_MAX).Data("d", {}).Finish(), wire);
}

TEST(Attr0, HashGroupBothWays) {
  const std::string wire = B("x\0" "1\0{\0a\0" "1\0b\0two\0}\0\0");
  Result<Record> rec = ParseRecord(wire);
  ASSERT_TRUE(rec) << rec.error();
  Reader r(*rec, Reader::kStrict);
  EXPECT_EQ(*r.Int("x"), 1u);
  auto g = r.Group();
  ASSERT_TRUE(g);
  ASSERT_EQ(g->size(), 2u);
  EXPECT_EQ((*g)[1].first, "b");
  EXPECT_EQ((*g)[1].second, "two");
  EXPECT_TRUE(r.End());
  EXPECT_EQ(*Writer().Int("x", 1).Group({{"a", "1"}, {"b", "two"}}).Finish(), wire);
}

// A record arriving one byte at a time gives the same record; bytes of
// the next record stay unconsumed.
TEST(Attr0Parser, StreamingPiecesAndTwoRecords) {
  const std::string wire = B("request\0seed\0size\0" "32\0\0" "status\0" "0\0\0");
  Attr0Parser p;
  size_t off = 0;
  while (!p.done()) {
    Result<size_t> used = p.Feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wire.data()) + off, 1));
    ASSERT_TRUE(used) << used.error();
    off += *used;
    ASSERT_LE(off, wire.size());
  }
  EXPECT_EQ(off, 22u);  // 8 + 5 + 5 + 3 + 1
  Record first = p.Take();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[1].value, "32");
  Result<size_t> used = p.Feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wire.data()) + off, wire.size() - off));
  ASSERT_TRUE(used);
  EXPECT_EQ(*used, wire.size() - off);
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.Take()[0].name, "status");
}

TEST(Attr0Parser, TruncatedAndNoTerminator) {
  Result<Record> a = ParseRecord(B("request\0seed\0size\0" "3"));
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find("truncated"), std::string::npos) << a.error();
  Result<Record> b = ParseRecord(B("request\0seed\0"));
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find("no end-of-list"), std::string::npos) << b.error();
  EXPECT_FALSE(ParseRecord(std::string()));
  Result<Record> c = ParseRecord(B("a\0b\0\0extra"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("trailing"), std::string::npos);
}

TEST(Attr0Parser, OneMegabyteValueRejectedWhileArriving) {
  Attr0Parser p;
  std::string head = B("session\0");
  ASSERT_TRUE(p.Feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(head.data()), head.size())));
  std::string chunk(4096, 'A');
  Result<size_t> used = size_t{0};
  size_t fed = 0;
  while (used && fed < (1u << 20)) {
    used = p.Feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()));
    fed += chunk.size();
  }
  ASSERT_FALSE(used);
  EXPECT_LE(fed, kMaxValueLen + chunk.size());  // rejected at the limit, not at 1 MiB
  EXPECT_NE(used.error().find("exceeds"), std::string::npos) << used.error();
  std::string big = B("v\0") + std::string(1 << 20, 'x') + B("\0\0");
  EXPECT_FALSE(ParseRecord(big));
}

TEST(Attr0Parser, Limits) {
  std::string longname = std::string(kMaxNameLen + 1, 'n') + B("\0v\0\0");
  Result<Record> a = ParseRecord(longname);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find("name exceeds"), std::string::npos);
  std::string many;
  for (size_t i = 0; i <= kMaxAttrCount; ++i) many += B("a\0" "1\0");
  many.push_back('\0');
  Result<Record> b = ParseRecord(many);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find("too many attributes"), std::string::npos);
  std::string huge;
  for (int i = 0; i < 6; ++i) huge += B("v\0") + std::string(kMaxValueLen - 10, 'x') + std::string(1, '\0');
  huge.push_back('\0');
  Result<Record> c = ParseRecord(huge);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("record exceeds"), std::string::npos);
  EXPECT_FALSE(ParseRecord(B("{\0{\0}\0}\0\0")));      // nested group
  EXPECT_FALSE(ParseRecord(B("}\0\0")));               // close without open
  EXPECT_FALSE(ParseRecord(B("{\0a\0" "1\0\0")));      // end inside group
}

TEST(Attr0Reader, NumbersDigitsOnlyNoOverflow) {
  for (const char* bad : {"4294967296", "-1", "+1", " 1", "1 ", "0x10", "", "1a", "99999999999999999999999"}) {
    std::string wire = B("n\0") + bad + std::string("\0\0", 2);
    Result<Record> rec = ParseRecord(wire);
    ASSERT_TRUE(rec);
    Reader r(*rec, Reader::kStrict);
    Result<uint32_t> v = r.Int("n");
    EXPECT_FALSE(v) << bad;
    if (!v) {
      EXPECT_NE(v.error().find("bad number"), std::string::npos);
    }
  }
  Result<Record> rec = ParseRecord(B("n\0" "18446744073709551616\0\0"));
  ASSERT_TRUE(rec);
  Result<uint64_t> v = Reader(*rec, Reader::kStrict).Long("n");
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().find("overflow"), std::string::npos);
  EXPECT_EQ(*ParseU32("4294967295"), UINT32_MAX);
  EXPECT_EQ(*ParseU32("007"), 7u);
}

TEST(Attr0Reader, NonBase64AndBadPaddingRejected) {
  for (const char* bad : {"ab$d", "abc", "A===", "AB=C", "====", "AF==", "AAB=", "QUJD\n", "QQ==QQ=="}) {
    std::string wire = B("d\0") + bad + std::string("\0\0", 2);
    Result<Record> rec = ParseRecord(wire);
    ASSERT_TRUE(rec);
    Result<SecretBytes> v = Reader(*rec, Reader::kStrict).Data("d");
    EXPECT_FALSE(v) << bad;
    if (!v) {
      EXPECT_NE(v.error().find("bad base64"), std::string::npos);
    }
  }
  EXPECT_EQ(Str(*Base64Decode("QUJD")), "ABC");
  EXPECT_EQ(Str(*Base64Decode("QUI=")), "AB");
  EXPECT_EQ(Str(*Base64Decode("QQ==")), "A");
}

TEST(Attr0Reader, StrictOrderMissingExtra) {
  Result<Record> rec = ParseRecord(B("size\0" "32\0request\0seed\0\0"));
  ASSERT_TRUE(rec);
  {
    Reader r(*rec, Reader::kStrict);
    Result<std::string> v = r.Str("request");
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().find("unexpected attribute \"size\""), std::string::npos) << v.error();
  }
  {
    Reader r(*rec, Reader::kStrict);
    ASSERT_TRUE(r.Int("size"));
    ASSERT_TRUE(r.Str("request"));
    Result<std::string> v = r.Str("more");
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().find("missing attribute \"more\""), std::string::npos);
  }
  {
    Reader r(*rec, Reader::kStrict);
    ASSERT_TRUE(r.Int("size"));
    Status end = r.End();
    ASSERT_FALSE(end);
    EXPECT_NE(end.error().find("extra attribute \"request\""), std::string::npos);
  }
}

// Lenient mode skips other names (Postfix default), strict does not.
TEST(Attr0Reader, LenientSkipsUnknown) {
  Result<Record> rec = ParseRecord(B("junk\0x\0status\0" "1\0more\0y\0\0"));
  ASSERT_TRUE(rec);
  Reader r(*rec, Reader::kLenient);
  EXPECT_EQ(*r.Int("status"), 1u);
  EXPECT_TRUE(r.End());
  Reader s(*rec, Reader::kStrict);
  EXPECT_FALSE(s.Int("status"));
}

TEST(Attr0Reader, RepeatedNamePositional) {
  Result<Record> rec = ParseRecord(B("timeout\0" "300\0timeout\0" "10\0\0"));
  ASSERT_TRUE(rec);
  Reader r(*rec, Reader::kStrict);
  EXPECT_EQ(*r.Int("timeout"), 300u);
  EXPECT_EQ(*r.Int("timeout"), 10u);
  EXPECT_TRUE(r.End());
}

TEST(Attr0Writer, RejectsNulAndReservedNames) {
  EXPECT_FALSE(Writer().Str("a", std::string("x\0y", 3)).Finish());
  EXPECT_FALSE(Writer().Str("", "x").Finish());
  EXPECT_FALSE(Writer().Str("{", "x").Finish());
  EXPECT_FALSE(Writer().Str(std::string(kMaxNameLen + 1, 'n'), "x").Finish());
  EXPECT_FALSE(Writer().Str("v", std::string(kMaxValueLen + 1, 'x')).Finish());
  EXPECT_EQ(*Writer().Finish(), std::string(1, '\0'));
}

}  // namespace
}  // namespace pftls::ipc
