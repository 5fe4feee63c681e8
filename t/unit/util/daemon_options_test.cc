// Tests for the generic daemon options (util/daemon.h) and the master(8)
// status record (util/master_proto.h).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "util/daemon.h"
#include "util/master_proto.h"

namespace pftls::daemon {
namespace {

Result<Options> Parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  static std::string prog = "tlsproxy";
  argv.push_back(prog.data());
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return ParseOptions(static_cast<int>(argv.size() - 1), argv.data());
}

// The argv Debian's master passes (observed: "-l -n NAME -t inet -d -u").
TEST(DaemonOptions, ParsesMasterArgv) {
  auto o = Parse({"-z", "-n", "tlsproxy", "-t", "unix", "-u", "-c", "-o", "tlsproxy_tls_loglevel=1", "-s", "2",
                  "-v", "-v", "extra"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_TRUE(o->limit_zero);
  EXPECT_FALSE(o->limit_one);
  EXPECT_EQ(o->service_name, "tlsproxy");
  EXPECT_EQ(o->transport, "unix");
  EXPECT_TRUE(o->unprivileged);
  EXPECT_TRUE(o->chroot);
  ASSERT_EQ(o->overrides.size(), 1u);
  EXPECT_EQ(o->overrides[0].first, "tlsproxy_tls_loglevel");
  EXPECT_EQ(o->overrides[0].second, "1");
  EXPECT_EQ(o->socket_count, 2);
  EXPECT_EQ(o->verbose, 2);
  ASSERT_EQ(o->args.size(), 1u);
  EXPECT_EQ(o->args[0], "extra");
}

TEST(DaemonOptions, BundledFlagsAndAttachedValues) {
  auto o = Parse({"-lSdVD", "-nfoo", "-i", "30", "-m", "7"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_TRUE(o->limit_one && o->stdin_mode && o->foreground && o->log_stderr && o->debug_me);
  EXPECT_EQ(o->service_name, "foo");
  EXPECT_EQ(o->max_idle, "30");
  EXPECT_EQ(o->max_use, "7");
}

TEST(DaemonOptions, RejectsBadInput) {
  EXPECT_FALSE(Parse({"-x"}).ok());
  EXPECT_FALSE(Parse({"-n"}).ok());
  EXPECT_FALSE(Parse({"-s", "0"}).ok());
  EXPECT_FALSE(Parse({"-s", "abc"}).ok());
  EXPECT_FALSE(Parse({"-i", "-5"}).ok());
  EXPECT_FALSE(Parse({"-o", "novalue"}).ok());
  EXPECT_FALSE(Parse({"-o", "bad name=1"}).ok());
  EXPECT_FALSE(Parse({"-l", "-z"}).ok());
}

TEST(DaemonOptions, OverrideForms) {
  auto a = ParseOverride("{ smtpd_banner = a b = c }");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "smtpd_banner");
  EXPECT_EQ(a->second, "a b = c");
  auto b = ParseOverride("x=");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->second, "");
  EXPECT_FALSE(ParseOverride("=1").ok());
}

// The 12-byte record, built by hand (native byte order) rather than by the encoder.
TEST(MasterProto, StatusRecordLayout) {
  unsigned char raw[12];
  int pid = 4242;
  unsigned gen = 017;
  int avail = 1;
  memcpy(raw, &pid, 4);
  memcpy(raw + 4, &gen, 4);
  memcpy(raw + 8, &avail, 4);
  auto rec = master_proto::DecodeStatus(std::string_view(reinterpret_cast<char*>(raw), 12));
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->pid, 4242);
  EXPECT_EQ(rec->generation, 017u);
  EXPECT_EQ(rec->avail, master_proto::kStatAvail);
  avail = master_proto::kStatReady;  // pftls extension
  memcpy(raw + 8, &avail, 4);
  EXPECT_TRUE(master_proto::DecodeStatus(std::string_view(reinterpret_cast<char*>(raw), 12)).has_value());
  avail = 3;
  memcpy(raw + 8, &avail, 4);
  EXPECT_FALSE(master_proto::DecodeStatus(std::string_view(reinterpret_cast<char*>(raw), 12)).has_value());
  avail = -1;
  memcpy(raw + 8, &avail, 4);
  EXPECT_FALSE(master_proto::DecodeStatus(std::string_view(reinterpret_cast<char*>(raw), 12)).has_value());
  EXPECT_FALSE(master_proto::DecodeStatus(std::string_view(reinterpret_cast<char*>(raw), 11)).has_value());
}

TEST(MasterProto, WriteStatusIsOneRecord) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_TRUE(master_proto::WriteStatus(p[1], {7, 3, master_proto::kStatTaken}));
  char buf[64];
  ASSERT_EQ(read(p[0], buf, sizeof(buf)), 12);
  auto rec = master_proto::DecodeStatus(std::string_view(buf, 12));
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->avail, master_proto::kStatTaken);
  close(p[0]);
  close(p[1]);
}

}  // namespace
}  // namespace pftls::daemon
