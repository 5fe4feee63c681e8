// Tests for util/log: prefixes, control-character scrubbing, the record cap
// and the verbose counter.
#include "util/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pftls {
namespace {

struct Captured {
  std::vector<std::pair<log::Level, std::string>> lines;
};

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetCaptureForTest([this](log::Level l, std::string_view t) { cap_.lines.emplace_back(l, std::string(t)); });
  }
  void TearDown() override { log::SetCaptureForTest(nullptr); }
  Captured cap_;
};

// Levels arrive with the text as formatted; the prefix is added by the sink.
TEST_F(LogTest, LevelsAndFormatting) {
  log::Info("CONNECT from %s", "[127.0.0.1]:25");
  log::Warn("bogus seed length \"%d\" in \"seed\" request", 0);
  log::Error("x=%u", 7u);
  ASSERT_EQ(cap_.lines.size(), 3u);
  EXPECT_EQ(cap_.lines[0].first, log::Level::kInfo);
  EXPECT_EQ(cap_.lines[0].second, "CONNECT from [127.0.0.1]:25");
  EXPECT_EQ(cap_.lines[1].first, log::Level::kWarning);
  EXPECT_EQ(cap_.lines[1].second, "bogus seed length \"0\" in \"seed\" request");
  EXPECT_EQ(cap_.lines[2].second, "x=7");
}

// Hostile input cannot forge a second log line.
TEST_F(LogTest, ControlCharactersAreScrubbed) {
  log::Info("peer said %s", "hi\nfatal: forged\r\x7f");
  ASSERT_EQ(cap_.lines.size(), 1u);
  EXPECT_EQ(cap_.lines[0].second, "peer said hi?fatal: forged??");
}

// A huge argument is cut at kMaxRecord, never overflows.
TEST_F(LogTest, RecordIsCapped) {
  std::string big(100000, 'a');
  log::Info("%s", big.c_str());
  ASSERT_EQ(cap_.lines.size(), 1u);
  EXPECT_EQ(cap_.lines[0].second.size(), log::kMaxRecord - 1);
}

TEST(LogPlain, FatalExitsWithStatusOne) {
  EXPECT_EXIT(log::Fatal("broken %s", "config"), ::testing::ExitedWithCode(1), "fatal: broken config");
}

TEST(LogPlain, PanicAborts) {
  EXPECT_DEATH(log::Panic("bug %d", 1), "panic: bug 1");
}

TEST(LogPlain, VerboseCounter) {
  log::SetVerbose(0);
  EXPECT_EQ(log::Verbose(), 0);
  log::AddVerbose();
  log::AddVerbose();
  EXPECT_EQ(log::Verbose(), 2);
  log::SetVerbose(0);
}

TEST(LogPlain, FacilityNames) {
  EXPECT_EQ(log::FacilityByName("mail"), LOG_MAIL);
  EXPECT_EQ(log::FacilityByName("local7"), LOG_LOCAL7);
  EXPECT_EQ(log::FacilityByName("bogus"), -1);
}

}  // namespace
}  // namespace pftls
