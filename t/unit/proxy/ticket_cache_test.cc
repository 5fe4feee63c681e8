// Tests for proxy/ticket_cache: spec §5.5 validity windows and the two slots.
#include "proxy/ticket_cache.h"

#include <gtest/gtest.h>

namespace pftls::proxy {
namespace {

tls::TicketKey Key(uint8_t tag, time_t tout) {
  tls::TicketKey k;
  k.name.fill(tag);
  k.tout = tout;
  return k;
}

TEST(TicketKeyCache, EncryptWhileToutInFutureDecryptForAnotherT) {
  TicketKeyCache c(3600);
  c.Insert(Key(1, 1000));
  uint8_t n1[16];
  std::fill(n1, n1 + 16, 1);
  ASSERT_NE(c.ForEncryption(999), nullptr);
  EXPECT_EQ(c.ForEncryption(1000), nullptr);  // tout reached: no longer encrypts
  EXPECT_NE(c.ForDecryption(n1, 1000 + 3599), nullptr);
  EXPECT_EQ(c.ForDecryption(n1, 1000 + 3600), nullptr);
}

TEST(TicketKeyCache, MissCallsBackAndNeverBlocks) {
  TicketKeyCache c(3600);
  int misses = 0;
  c.set_on_miss([&] { ++misses; });
  EXPECT_EQ(c.ForEncryption(5), nullptr);
  EXPECT_EQ(misses, 1);
}

TEST(TicketKeyCache, TwoSlotsNewestFirst) {
  TicketKeyCache c(100);
  c.Insert(Key(1, 1000));
  c.Insert(Key(2, 2000));
  EXPECT_EQ(c.ForEncryption(500)->name[0], 2);
  c.Insert(Key(3, 3000));  // drops key 1
  uint8_t n1[16], n2[16];
  std::fill(n1, n1 + 16, 1);
  std::fill(n2, n2 + 16, 2);
  EXPECT_FALSE(c.Knows(n1, 500));
  EXPECT_TRUE(c.Knows(n2, 500));
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.NextRefresh(), 3000);
  // An older key arriving late goes to the second slot.
  c.Insert(Key(4, 2500));
  EXPECT_EQ(c.ForEncryption(500)->name[0], 3);
  // Same name replaces in place.
  c.Insert(Key(3, 3500));
  EXPECT_EQ(c.NextRefresh(), 3500);
}

}  // namespace
}  // namespace pftls::proxy
