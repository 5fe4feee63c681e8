// Tests for EditMainCf: postconf -e / -X semantics, preserved comments,
// order, mode and owner, atomic replacement, refused input.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "util/config.h"

namespace pftls::config {
namespace {

class EditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/pftls-edit-test.XXXXXX";
    dir_ = mkdtemp(t);
    path_ = dir_ + "/main.cf";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& s) { std::ofstream(path_, std::ios::binary) << s; }
  std::string Read() {
    std::ifstream f(path_, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  int Entries() {
    int n = 0;
    std::string cmd = "ls -A '" + dir_ + "' | wc -l";
    FILE* p = popen(cmd.c_str(), "r");
    if (p && fscanf(p, "%d", &n) != 1) n = -1;
    if (p) pclose(p);
    return n;
  }
  std::string dir_, path_;
};

TEST_F(EditTest, SetReplacesInPlaceKeepsCommentsAndAppends) {
  Write("# head\na = 1\nb = 2\n  cont\n# mid\na = 3\n   more\nc=4\n");
  ASSERT_TRUE(EditMainCf(path_, {{"a", "9"}, {"d", " 5 "}, {" b ", " 7 "}}).ok());
  // As postconf -e: every definition of a set name is rewritten, continuation
  // lines go, new names are appended in order.
  EXPECT_EQ(Read(), "# head\na = 9\nb = 7\n# mid\na = 9\nc=4\nd = 5\n");
  Result<Config> c = Config::Load(dir_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->Raw("a"), "9");
  EXPECT_EQ(*c->Raw("b"), "7");
  EXPECT_EQ(*c->Raw("c"), "4");
  EXPECT_EQ(*c->Raw("d"), "5");
  EXPECT_EQ(Entries(), 1);  // no temporary file left behind
}

TEST_F(EditTest, RemoveDeletesEveryDefinition) {
  Write("# head\nb = 7\n# mid\na = 1\n  x\nd = 5\na = 2\n");
  ASSERT_TRUE(EditMainCf(path_, {}, {"a", "zz"}).ok());
  EXPECT_EQ(Read(), "# head\nb = 7\n# mid\nd = 5\n");
}

TEST_F(EditTest, RoundTripAndLastValueWins) {
  Write("x = 1");  // no final newline
  ASSERT_TRUE(EditMainCf(path_, {{"e", ""}, {"f", "$x"}, {"f", "${x}y"}}).ok());
  EXPECT_EQ(Read(), "x = 1\ne = \nf = ${x}y\n");
  Result<Config> c = Config::Load(dir_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->Expand("f"), "1y");
  EXPECT_TRUE(c->IsExplicit("e"));
  ASSERT_TRUE(EditMainCf(path_, {{"x", "2"}}, {"e"}).ok());
  EXPECT_EQ(Read(), "x = 2\nf = ${x}y\n");
}

TEST_F(EditTest, KeepsModeAndOwner) {
  Write("a = 1\n");
  ASSERT_EQ(chmod(path_.c_str(), 0640), 0);
  bool root = geteuid() == 0;
  if (root) {
    ASSERT_EQ(chown(path_.c_str(), 1, 2), 0);
  }
  struct stat before {};
  ASSERT_EQ(stat(path_.c_str(), &before), 0);
  ASSERT_TRUE(EditMainCf(path_, {{"a", "2"}}).ok());
  struct stat after {};
  ASSERT_EQ(stat(path_.c_str(), &after), 0);
  EXPECT_EQ(after.st_mode & 07777, 0640u);
  EXPECT_EQ(after.st_uid, before.st_uid);
  EXPECT_EQ(after.st_gid, before.st_gid);
  EXPECT_NE(after.st_ino, before.st_ino);  // replaced by rename, not rewritten
  if (root) {
    EXPECT_EQ(after.st_uid, 1u);
  }
}

TEST_F(EditTest, CreatesMissingFile) {
  ASSERT_TRUE(EditMainCf(path_, {{"a", "1"}}).ok());
  EXPECT_EQ(Read(), "a = 1\n");
}

TEST_F(EditTest, RefusesBadRequestsAndLeavesFileAlone) {
  Write("a = 1\n");
  EXPECT_FALSE(EditMainCf(path_, {{"f", "x\ny"}}).ok());
  EXPECT_FALSE(EditMainCf(path_, {{"", "x"}}).ok());
  EXPECT_FALSE(EditMainCf(path_, {{"a b", "x"}}).ok());
  EXPECT_FALSE(EditMainCf(path_, {}, {"x=y"}).ok());
  EXPECT_EQ(Read(), "a = 1\n");
  Write("a = 1\nbroken line\n");
  Status s = EditMainCf(path_, {{"a", "2"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("main.cf, line 2: missing '='"), std::string::npos) << s.error();
  EXPECT_EQ(Read(), "a = 1\nbroken line\n");
  EXPECT_EQ(Entries(), 1);
}

}  // namespace
}  // namespace pftls::config
