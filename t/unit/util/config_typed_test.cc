// Tests for util/config typed getters, value syntaxes and the parameter
// table: time units, ranges, booleans, lists, fatal messages.
#include <gtest/gtest.h>

#include <string>

#include "util/config.h"

namespace pftls::config {
namespace {

Config Cfg(std::string_view text) {
  Result<Config> c = Config::FromString(text, "/etc/pftls/main.cf");
  EXPECT_TRUE(c.ok()) << c.error();
  return std::move(c).value();
}

TEST(ConfigTyped, TimeValues) {
  EXPECT_EQ(*ParseTimeValue("10", 's'), 10);
  EXPECT_EQ(*ParseTimeValue("10s", 'h'), 10);
  EXPECT_EQ(*ParseTimeValue("2m", 's'), 120);
  EXPECT_EQ(*ParseTimeValue("3", 'h'), 3 * 3600);
  EXPECT_EQ(*ParseTimeValue("1d", 's'), 86400);
  EXPECT_EQ(*ParseTimeValue("1w", 's'), 7 * 86400);
  EXPECT_FALSE(ParseTimeValue("", 's').ok());
  EXPECT_FALSE(ParseTimeValue("5x", 's').ok());
  EXPECT_FALSE(ParseTimeValue("s", 's').ok());
  EXPECT_FALSE(ParseTimeValue("1 s", 's').ok());
  EXPECT_FALSE(ParseTimeValue("99999999999999999w", 's').ok());
}

TEST(ConfigTyped, TimeGetterUsesPerParameterUnitAndDefaults) {
  Config c = Cfg("smtpd_tls_session_cache_timeout = 2h\nipc_idle = 7\n");
  EXPECT_EQ(c.TimeSeconds("smtpd_tls_session_cache_timeout"), 7200);
  EXPECT_EQ(c.TimeSeconds("ipc_idle"), 7);
  EXPECT_EQ(c.TimeSeconds("max_idle"), 100);
  EXPECT_EQ(c.TimeSeconds("daemon_timeout"), 18000);
  EXPECT_EQ(c.TimeSeconds("tlsproxy_watchdog_timeout"), 10);
  EXPECT_EQ(c.TimeSeconds("postscreen_command_time_limit"), 300);
  c.Override("stress", "yes");
  EXPECT_EQ(c.TimeSeconds("postscreen_command_time_limit"), 10);
}

TEST(ConfigTyped, TimeRangeAndMessages) {
  Config c = Cfg("a = 1\ntlsproxy_watchdog_timeout = 5s\nsmtpd_tls_session_cache_timeout = 101d\nipc_ttl = 5x\n");
  Result<long> w = c.TryTime("tlsproxy_watchdog_timeout");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error(),
            "/etc/pftls/main.cf, line 2: bad time value for parameter tlsproxy_watchdog_timeout: \"5s\" "
            "(must be at least 10s)");
  Result<long> s = c.TryTime("smtpd_tls_session_cache_timeout");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("must be at most 8640000s"), std::string::npos);
  Result<long> t = c.TryTime("ipc_ttl");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().find("line 4: bad time value for parameter ipc_ttl: \"5x\""), std::string::npos);
  EXPECT_EQ(*Cfg("smtpd_tls_session_cache_timeout = 100d\n").TryTime("smtpd_tls_session_cache_timeout"), 8640000);
}

TEST(ConfigTyped, CacheTimeoutSanitising) {
  EXPECT_EQ(SanitizeCacheTimeout(-5), 0);
  EXPECT_EQ(SanitizeCacheTimeout(0), 0);
  EXPECT_EQ(SanitizeCacheTimeout(1), 120);
  EXPECT_EQ(SanitizeCacheTimeout(119), 120);
  EXPECT_EQ(SanitizeCacheTimeout(120), 120);
  EXPECT_EQ(SanitizeCacheTimeout(3600), 3600);
  EXPECT_EQ(SanitizeCacheTimeout(8640001), 8640000);
}

TEST(ConfigTyped, Integers) {
  Config c = Cfg("max_use = 7\ntls_random_bytes = 300\ndefault_process_limit = 0\nx = 12z\nn = -4\n");
  EXPECT_EQ(c.Int("max_use"), 7);
  EXPECT_EQ(c.Long("tls_daemon_random_bytes"), 32);
  EXPECT_EQ(c.Long("n"), -4);
  EXPECT_EQ(c.Long("pftls_session_cache_max_entries"), 100000);
  EXPECT_NE(c.TryLong("tls_random_bytes").error().find("must be at most 255"), std::string::npos);
  EXPECT_NE(c.TryLong("default_process_limit").error().find("must be at least 1"), std::string::npos);
  EXPECT_EQ(c.TryLong("x").error(), "/etc/pftls/main.cf, line 4: bad numerical value for parameter x: \"12z\" (not a number)");
}

TEST(ConfigTyped, Booleans) {
  Config c = Cfg("a = yes\nb = NO\nc = true\nd = maybe\n");
  EXPECT_TRUE(c.Bool("a"));
  EXPECT_FALSE(c.Bool("b"));
  EXPECT_TRUE(c.Bool("c"));
  EXPECT_TRUE(c.Bool("smtpd_tls_always_issue_session_ids"));
  EXPECT_FALSE(c.Bool("pftls_sandbox_debug"));
  EXPECT_NE(c.TryBool("d").error().find("line 4: bad boolean value for parameter d"), std::string::npos);
  c.Override("smtpd_use_tls", "yes");
  EXPECT_TRUE(c.Bool("tlsproxy_use_tls"));
}

TEST(ConfigTyped, ListsAndStrings) {
  EXPECT_EQ(SplitList(" a, b\tc ,,d\n e "), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_TRUE(SplitList(" , ").empty());
  Config c = Cfg("x = hash:/a\nalias_maps = $x, ${x}.db\n");
  EXPECT_EQ(c.List("alias_maps"), (std::vector<std::string>{"hash:/a", "hash:/a.db"}));
  EXPECT_EQ(c.List("tls_eecdh_auto_curves").size(), 5u);
  EXPECT_EQ(c.Str("tlsfront_proxy_protocol"), "none");
  EXPECT_EQ(c.Str("never_heard_of_it"), "");
}

TEST(ConfigTyped, FatalNamesFileLineAndParameter) {
  Config c = Cfg("a = 1\ntlsproxy_watchdog_timeout = 3\n");
  EXPECT_EXIT(c.TimeSeconds("tlsproxy_watchdog_timeout"), ::testing::ExitedWithCode(1),
              "/etc/pftls/main.cf, line 2: bad time value for parameter tlsproxy_watchdog_timeout");
  Config d = Cfg("x = ${y\n");
  EXPECT_EXIT(d.Str("x"), ::testing::ExitedWithCode(1), "main.cf, line 1: parameter x: truncated");
}

TEST(ConfigTyped, ParameterTable) {
  struct Want {
    const char* name;
    ParamType type;
    const char* dflt;
  } want[] = {
      {"queue_directory", ParamType::kString, "/var/spool/postfix"},
      {"data_directory", ParamType::kString, "/var/lib/postfix"},
      {"mail_owner", ParamType::kString, "postfix"},
      {"syslog_name", ParamType::kString, "${multi_instance_name?{$multi_instance_name}:{postfix}}"},
      {"tlsproxy_tls_cert_file", ParamType::kString, "$smtpd_tls_cert_file"},
      {"tlsproxy_tls_ccert_verifydepth", ParamType::kInt, "$smtpd_tls_ccert_verifydepth"},
      {"smtpd_tls_session_cache_timeout", ParamType::kTime, "3600s"},
      {"tls_session_ticket_cipher", ParamType::kString, "aes-256-cbc"},
      {"tls_random_source", ParamType::kString, "dev:/dev/urandom"},
      {"tlsproxy_use_tls", ParamType::kBool, "$smtpd_use_tls"},
      {"smtpfront_tls_security_level", ParamType::kString, "$smtpd_tls_security_level"},
      {"smtpfront_tls_wrappermode", ParamType::kBool, "no"},
      {"pftls_session_cache_max_entries", ParamType::kLong, "100000"},
  };
  for (const Want& w : want) {
    const ParamSpec* p = FindParam(w.name);
    ASSERT_NE(p, nullptr) << w.name;
    EXPECT_EQ(p->type, w.type) << w.name;
    EXPECT_STREQ(p->default_value, w.dflt) << w.name;
  }
  EXPECT_EQ(FindParam("tlsproxy_watchdog_timeout")->min, 10);
  EXPECT_EQ(FindParam("no_such_thing"), nullptr);
  std::vector<const ParamSpec*> all = AllParams();
  EXPECT_GT(all.size(), 200u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(std::string(all[i - 1]->name), all[i]->name);
  int tlsproxy = 0;
  for (const ParamSpec* p : all)
    if (std::string_view(p->name).substr(0, 9) == "tlsproxy_") ++tlsproxy;
  EXPECT_EQ(tlsproxy, 47);  // every tlsproxy_* of postconf -d (3.7.11)
}

}  // namespace
}  // namespace pftls::config
