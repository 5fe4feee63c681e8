// Tests for master/service.h: argv and listener addresses from master.cf.
#include <gtest/gtest.h>

#include "master/service.h"
#include "util/config.h"

namespace pftls::master {
namespace {

std::vector<ServiceConfig> Resolve(const std::string& main_cf, const std::string& master_cf,
                                   ArgvOptions opts = {}) {
  auto cfg = config::Config::FromString(main_cf);
  EXPECT_TRUE(cfg.ok());
  auto entries = config::ParseMasterCfText(master_cf, "master.cf");
  EXPECT_TRUE(entries.ok()) << entries.error();
  auto s = ResolveServices(*cfg, *entries, opts);
  EXPECT_TRUE(s.ok()) << s.error();
  return s.ok() ? *s : std::vector<ServiceConfig>{};
}

TEST(Service, ArgvFollowsMasterConventions) {
  auto s = Resolve("queue_directory = /q\ndaemon_directory = /d\n",
                   "tlsproxy unix - - y - 0 tlsproxy -o tlsproxy_tls_loglevel=1\n"
                   "tlsmgr unix - - n 1000? 1 tlsmgr\n",
                   ArgvOptions{1, false});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].path, "/d/tlsproxy");
  EXPECT_EQ(s[0].maxproc, 0);
  std::vector<std::string> want = {"tlsproxy", "-z", "-n", "tlsproxy", "-t", "unix", "-v", "-u", "-c",
                                   "-o", "tlsproxy_tls_loglevel=1"};
  EXPECT_EQ(s[0].argv, want);
  ASSERT_EQ(s[0].addresses.size(), 1u);
  EXPECT_EQ(s[0].addresses[0], "/q/private/tlsproxy");
  std::vector<std::string> want_mgr = {"tlsmgr", "-l", "-n", "tlsmgr", "-t", "unix", "-v", "-u"};
  EXPECT_EQ(s[1].argv, want_mgr);
  EXPECT_EQ(s[1].wakeup, 1000);
  EXPECT_TRUE(s[1].wakeup_conditional);
}

TEST(Service, DefaultProcessLimitAndInetInterfaces) {
  auto s = Resolve("default_process_limit = 7\ninet_interfaces = 127.0.0.1, 127.0.0.2\n",
                   "2525 inet n - n - - smtpfront\n127.0.0.1:26 inet n - n - 3 smtpfront x\n");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].maxproc, 7);
  std::vector<std::string> addrs = {"127.0.0.1:2525", "127.0.0.2:2525"};
  EXPECT_EQ(s[0].addresses, addrs);
  // Two sockets: "-s 2" is passed.
  ASSERT_GE(s[0].argv.size(), 2u);
  EXPECT_EQ(s[0].argv[s[0].argv.size() - 2], "-s");
  EXPECT_EQ(s[0].argv.back(), "2");
  EXPECT_EQ(s[1].addresses, std::vector<std::string>{"127.0.0.1:26"});
  EXPECT_EQ(s[1].argv.back(), "x");
  EXPECT_FALSE(s[0].private_);
}

TEST(Service, RejectsPathsAndDuplicates) {
  auto cfg = config::Config::FromString("");
  ASSERT_TRUE(cfg.ok());
  auto e1 = config::ParseMasterCfText("x unix - - n - 1 /bin/sh\n", "master.cf");
  ASSERT_TRUE(e1.ok());
  EXPECT_FALSE(ResolveServices(*cfg, *e1, {}).ok());
  // A duplicate service is refused (by the parser or by ResolveServices).
  auto e2 = config::ParseMasterCfText("x unix - - n - 1 a\nx unix - - n - 1 b\n", "master.cf");
  EXPECT_FALSE(e2.ok() && ResolveServices(*cfg, *e2, {}).ok());
}

}  // namespace
}  // namespace pftls::master
