// Tests for front/relay: both directions byte-exact, half-close keeps the
// other direction, idle timeout ends a silent relay.
#include "front/relay.h"

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <thread>

namespace pftls::front {
namespace {

struct Pair {
  UniqueFd outer, inner;
};
Pair MakePair() {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

void RunUntil(event_base* base, const bool& done, int max_ms) {
  for (int i = 0; i < max_ms / 20 && !done; ++i) {
    timeval tv{0, 20000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
  }
}

TEST(Relay, BothWaysWithHalfClose) {
  EventBasePtr base(event_base_new());
  Pair a = MakePair(), b = MakePair();
  bool done = false;
  Relay r(base.get(), std::move(a.inner), std::move(b.inner), RelayOptions{}, [&](Relay*) { done = true; });
  ASSERT_TRUE(r.Start("early-", ""));
  std::string big(300000, 'z');
  std::string got_b, got_a;
  std::thread client([&] {
    (void)!write(a.outer.get(), big.data(), big.size());
    shutdown(a.outer.get(), SHUT_WR);  // client done sending
    char buf[4096];
    ssize_t n;
    while ((n = read(a.outer.get(), buf, sizeof(buf))) > 0) got_a.append(buf, static_cast<size_t>(n));
  });
  std::thread backend([&] {
    char buf[4096];
    ssize_t n;
    while ((n = read(b.outer.get(), buf, sizeof(buf))) > 0) got_b.append(buf, static_cast<size_t>(n));
    (void)!write(b.outer.get(), "reply after EOF", 15);  // half-close: still delivered
    shutdown(b.outer.get(), SHUT_WR);
  });
  RunUntil(base.get(), done, 10000);
  client.join();
  backend.join();
  EXPECT_TRUE(done);
  EXPECT_STREQ(r.Reason(), "done");
  EXPECT_EQ(got_b, "early-" + big);
  EXPECT_EQ(got_a, "reply after EOF");
}

TEST(Relay, IdleTimeout) {
  EventBasePtr base(event_base_new());
  Pair a = MakePair(), b = MakePair();
  bool done = false;
  RelayOptions o;
  o.idle_timeout = std::chrono::seconds(1);
  Relay r(base.get(), std::move(a.inner), std::move(b.inner), o, [&](Relay*) { done = true; });
  ASSERT_TRUE(r.Start());
  RunUntil(base.get(), done, 3000);
  EXPECT_TRUE(done);
  EXPECT_STREQ(r.Reason(), "timeout");
}

}  // namespace
}  // namespace pftls::front
