// Tests for mgr/ticket_keys: spec §5.5 timing with an explicit clock,
// two slots, name lookup, T <= 0, bad name lengths, and derived keys.
#include "mgr/ticket_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "t/unit/mgr/test_util.h"

namespace pftls::mgr {
namespace {

using testing::LogCapture;
using testing::TempDir;
using testing::WriteFile;

ipc::TicketKey Parse(const SecretBytes& b) {
  Result<ipc::TicketKey> k = ipc::TicketKey::Parse(b.span());
  EXPECT_TRUE(k) << k.error();
  return k ? std::move(*k) : ipc::TicketKey{};
}
std::string Name(const ipc::TicketKey& k) { return std::string(reinterpret_cast<const char*>(k.name.data()), 16); }

TEST(TicketKeys, NewKeyTimingAndRecordSize) {
  TicketKeys keys(3600);
  TicketKeys::Answer a = keys.Get("", 100000);
  ASSERT_EQ(a.status, ipc::kStatOk);
  ASSERT_EQ(a.keybuf.size(), ipc::kTicketKeyRecordSize);
  ipc::TicketKey k = Parse(a.keybuf);
  EXPECT_EQ(k.tout, 100000 + 1800 - 1);  // now + floor(T/2) - 1
  EXPECT_EQ(keys.stats().issued, 1u);
  // Odd T: floor.
  TicketKeys odd(3601);
  EXPECT_EQ(Parse(odd.Get("", 0).keybuf).tout, 1800 - 1);
}

TEST(TicketKeys, CurrentKeyIsReusedUntilToutThenRotated) {
  TicketKeys keys(3600);
  ipc::TicketKey k1 = Parse(keys.Get("", 1000).keybuf);
  ipc::TicketKey again = Parse(keys.Get("", 1000 + 1798).keybuf);  // tout = 2799 > now
  EXPECT_EQ(Name(again), Name(k1));
  EXPECT_TRUE(again.bits.Equal(k1.bits));
  ipc::TicketKey k2 = Parse(keys.Get("", 2799).keybuf);  // tout <= now: new key
  EXPECT_NE(Name(k2), Name(k1));
  EXPECT_FALSE(k2.bits.Equal(k1.bits));
  EXPECT_FALSE(k2.hmac.Equal(k1.hmac));
  EXPECT_EQ(k2.tout, 2799 + 1799);
  EXPECT_EQ(keys.stats().issued, 2u);
}

TEST(TicketKeys, LookupByNameHonoursDecryptionWindow) {
  TicketKeys keys(3600);
  ipc::TicketKey k1 = Parse(keys.Get("", 1000).keybuf);  // tout 2799
  // Valid for decryption while tout + 1800 > now, i.e. up to 4598.
  TicketKeys::Answer a = keys.Get(Name(k1), 4598);
  ASSERT_EQ(a.status, ipc::kStatOk);
  EXPECT_TRUE(Parse(a.keybuf).bits.Equal(k1.bits));
  TicketKeys::Answer b = keys.Get(Name(k1), 4599);
  EXPECT_EQ(b.status, ipc::kStatErr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.keybuf.data()), b.keybuf.size()), Name(k1));  // echo
}

TEST(TicketKeys, OnlyTwoSlots) {
  TicketKeys keys(3600);
  ipc::TicketKey k1 = Parse(keys.Get("", 1000).keybuf);
  ipc::TicketKey k2 = Parse(keys.Get("", 2799).keybuf);
  EXPECT_EQ(keys.Get(Name(k1), 2800).status, ipc::kStatOk);  // previous slot
  ipc::TicketKey k3 = Parse(keys.Get("", 4598).keybuf);      // k2 tout 4598 <= now
  (void)k3;
  // k1 would still be in its decryption window at 4597 but it was dropped.
  EXPECT_EQ(keys.Get(Name(k1), 4598).status, ipc::kStatErr);
  EXPECT_EQ(keys.Get(Name(k2), 4598).status, ipc::kStatOk);
}

TEST(TicketKeys, UnknownNameNotFoundWithEcho) {
  TicketKeys keys(3600);
  (void)keys.Get("", 1000);
  std::string name(16, '\x42');
  TicketKeys::Answer a = keys.Get(name, 1000);
  EXPECT_EQ(a.status, ipc::kStatErr);
  ASSERT_EQ(a.keybuf.size(), 16u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(a.keybuf.data()), 16), name);
  EXPECT_EQ(keys.stats().not_found, 1u);
}

TEST(TicketKeys, DisabledWhenTimeoutNotPositive) {
  for (long t : {0L, -5L}) {
    TicketKeys keys(t);
    EXPECT_EQ(keys.Get("", 1000).status, ipc::kStatErr);
    EXPECT_EQ(keys.Get(std::string(16, 'a'), 1000).status, ipc::kStatErr);
  }
}

TEST(TicketKeys, BadNameLengthIsFailWithWarning) {
  TicketKeys keys(3600);
  LogCapture cap;
  for (size_t n : {1u, 15u, 17u, 88u}) EXPECT_EQ(keys.Get(std::string(n, 'a'), 1000).status, ipc::kStatFail);
  EXPECT_EQ(cap.Count(log::Level::kWarning, "invalid session ticket key name length: 15"), 1u);
}

TEST(TicketKeys, KeyBytesNeverLogged) {
  LogCapture cap;
  TicketKeys keys(3600);
  (void)keys.Get("", 1000);
  EXPECT_TRUE(cap.lines().empty());
}

SecretBytes Master(char c) {
  std::string m(32, c);
  return SecretBytes(reinterpret_cast<const uint8_t*>(m.data()), m.size());
}

TEST(TicketKeysDerived, TwoInstancesAgreeWithoutCoordination) {
  TicketKeys a(3600, Master('m'));
  TicketKeys b(3600, Master('m'));
  ipc::TicketKey ka = Parse(a.Get("", 1800 * 10 + 5).keybuf);
  ipc::TicketKey kb = Parse(b.Get("", 1800 * 10 + 900).keybuf);
  EXPECT_EQ(Name(ka), Name(kb));
  EXPECT_TRUE(ka.bits.Equal(kb.bits));
  EXPECT_TRUE(ka.hmac.Equal(kb.hmac));
  EXPECT_EQ(ka.tout, 1800 * 11);
  // b decrypts a's ticket by name.
  EXPECT_EQ(b.Get(Name(ka), 1800 * 10 + 1000).status, ipc::kStatOk);
  // Another master: other keys.
  TicketKeys c(3600, Master('x'));
  EXPECT_NE(Name(Parse(c.Get("", 1800 * 10 + 5).keybuf)), Name(ka));
  EXPECT_EQ(c.Get(Name(ka), 1800 * 10 + 5).status, ipc::kStatErr);
}

TEST(TicketKeysDerived, EpochWindows) {
  TicketKeys a(3600, Master('m'));
  ipc::TicketKey e10 = Parse(a.Get("", 1800 * 10).keybuf);
  ipc::TicketKey e11 = Parse(a.Get("", 1800 * 11).keybuf);
  EXPECT_NE(Name(e10), Name(e11));
  EXPECT_EQ(a.stats().issued, 2u);
  // Epoch 10 key (tout 19800) decrypts while tout + 1800 > now.
  EXPECT_EQ(a.Get(Name(e10), 1800 * 12 - 1).status, ipc::kStatOk);
  EXPECT_EQ(a.Get(Name(e10), 1800 * 12).status, ipc::kStatErr);
  // A peer slightly ahead (already in epoch 11) is accepted in epoch 10.
  EXPECT_EQ(a.Get(Name(e11), 1800 * 11 - 3).status, ipc::kStatOk);
}

TEST(TicketKeysDerived, ReadMasterKeyFile) {
  TempDir d;
  WriteFile(d / "short", std::string(31, 'k'));
  EXPECT_FALSE(ReadTicketMasterKey(d / "short"));
  EXPECT_FALSE(ReadTicketMasterKey(d / "missing"));
  WriteFile(d / "ok", std::string(48, 'k'));
  ASSERT_EQ(::chmod((d / "ok").c_str(), 0600), 0);
  LogCapture cap;
  Result<SecretBytes> k = ReadTicketMasterKey(d / "ok");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->size(), 48u);
  EXPECT_EQ(cap.Count(log::Level::kWarning), 0u);
  ASSERT_EQ(::chmod((d / "ok").c_str(), 0644), 0);
  EXPECT_TRUE(ReadTicketMasterKey(d / "ok"));
  EXPECT_EQ(cap.Count(log::Level::kWarning, "group or others"), 1u);
}

}  // namespace
}  // namespace pftls::mgr
