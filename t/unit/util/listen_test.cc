// Tests for util/listen.h.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "util/listen.h"

namespace pftls {
namespace {

TEST(Listen, SplitHostPort) {
  auto a = SplitHostPort("127.0.0.1:25");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, "25");
  auto b = SplitHostPort("[::1]:465");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  EXPECT_EQ(b->second, "465");
  auto c = SplitHostPort("smtp");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->first, "");
  EXPECT_EQ(c->second, "smtp");
  EXPECT_FALSE(SplitHostPort("1.2.3.4:").ok());
  EXPECT_FALSE(SplitHostPort("[::1]").ok());
}

TEST(Listen, UnixSocketReplacesStaleSocketButNotFiles) {
  char dir[] = "/tmp/pftls-listen.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/s";
  {
    auto a = ListenUnix(path, 5);
    ASSERT_TRUE(a.ok()) << a.error();
  }
  auto b = ListenUnix(path, 5);  // stale socket file is replaced
  ASSERT_TRUE(b.ok()) << b.error();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  EXPECT_TRUE(fcntl(b->get(), F_GETFL) & O_NONBLOCK);
  std::string file = std::string(dir) + "/f";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  EXPECT_FALSE(ListenUnix(file, 5).ok());  // a regular file is never removed
  unlink(file.c_str());
  unlink(path.c_str());
  rmdir(dir);
}

TEST(Listen, FromSpec) {
  auto v = ListenFromSpec("inet:127.0.0.1:0", 5);
  ASSERT_TRUE(v.ok()) << v.error();
  EXPECT_EQ(v->size(), 1u);
  EXPECT_FALSE(ListenFromSpec("tcp:1", 5).ok());
  EXPECT_FALSE(ListenFromSpec("", 5).ok());
}

}  // namespace
}  // namespace pftls
