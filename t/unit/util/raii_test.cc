// Tests for util/fd.h, util/secret.h, util/handles.h and util/result.h.
#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "util/fd.h"
#include "util/handles.h"
#include "util/result.h"
#include "util/secret.h"

namespace pftls {
namespace {

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) >= 0; }

TEST(UniqueFd, ClosesExactlyOnce) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  {
    UniqueFd a(p[0]);
    UniqueFd b(p[1]);
    UniqueFd c(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_TRUE(IsOpen(p[0]));
    b = std::move(c);  // closes p[1], now owns p[0]
    EXPECT_FALSE(IsOpen(p[1]));
    EXPECT_TRUE(IsOpen(p[0]));
  }
  EXPECT_FALSE(IsOpen(p[0]));
}

TEST(UniqueFd, ReleaseGivesOwnershipAway) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int raw;
  {
    UniqueFd a(p[0]);
    raw = a.release();
  }
  EXPECT_TRUE(IsOpen(raw));
  close(raw);
  close(p[1]);
}

TEST(UniqueFd, Flags) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  UniqueFd a(p[0]), b(p[1]);
  ASSERT_TRUE(SetNonBlocking(a.get()));
  EXPECT_TRUE(fcntl(a.get(), F_GETFL) & O_NONBLOCK);
  ASSERT_TRUE(SetCloseOnExec(a.get()));
  EXPECT_TRUE(fcntl(a.get(), F_GETFD) & FD_CLOEXEC);
}

TEST(SecretBytes, MoveCloneAndCompare) {
  SecretBytes k(32);
  ASSERT_EQ(RAND_bytes(k.data(), 32), 1);
  SecretBytes c = k.Clone();
  EXPECT_TRUE(c.Equal(k));
  SecretBytes m(std::move(k));
  EXPECT_EQ(k.size(), 0u);
  EXPECT_TRUE(m.Equal(c));
  m.reset();
  EXPECT_TRUE(m.empty());
}

TEST(Handles, FreeOnScopeExit) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  ASSERT_TRUE(ctx);
  SslPtr ssl(SSL_new(ctx.get()));
  ASSERT_TRUE(ssl);
  EventBasePtr base(event_base_new());
  ASSERT_TRUE(base);
  SqlitePtr db;
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &raw), SQLITE_OK);
  db.reset(raw);
}

Result<int> Half(int x) {
  if (x % 2) return MakeError("odd");
  return x / 2;
}

TEST(Result, ValueAndError) {
  auto a = Half(4);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 2);
  auto b = Half(3);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error(), "odd");
  Status s = MakeError("bad");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error(), "bad");
  EXPECT_TRUE(Status::Ok().ok());
}

}  // namespace
}  // namespace pftls
