// Unit tests for keytool/getopts (sh getopts semantics) and messages.
#include "keytool/getopts.h"

#include <gtest/gtest.h>

#include "keytool/messages.h"

namespace pftls::keytool {
namespace {

TEST(GetOpts, Basics) {
  Result<ParsedArgs> p = GetOpts({"-a", "ecdsa", "-b", "secp384r1", "h1", "h2"}, "a:b:");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p->Find('a'), "ecdsa");
  EXPECT_EQ(*p->Find('b'), "secp384r1");
  EXPECT_EQ(p->positional, (std::vector<std::string>{"h1", "h2"}));
  EXPECT_EQ(p->Find('r'), nullptr);
}

TEST(GetOpts, AttachedGroupedAndRepeated) {
  Result<ParsedArgs> p = GetOpts({"-arsa", "-a", "ecdsa", "-b3072"}, "a:b:");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p->Find('a'), "ecdsa");  // the last one wins
  EXPECT_EQ(*p->Find('b'), "3072");
  Result<ParsedArgs> q = GetOpts({"-xy", "v"}, "xy:");
  ASSERT_TRUE(q);
  EXPECT_EQ(*q->Find('x'), "");
  EXPECT_EQ(*q->Find('y'), "v");
}

TEST(GetOpts, StopsAtNonOptionDashAndDoubleDash) {
  Result<ParsedArgs> p = GetOpts({"host", "-a", "rsa"}, "a:");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->Find('a'), nullptr);
  EXPECT_EQ(p->positional.size(), 3u);
  p = GetOpts({"--", "-a"}, "a:");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->positional, (std::vector<std::string>{"-a"}));
  p = GetOpts({"-", "x"}, "a:");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->positional, (std::vector<std::string>{"-", "x"}));
  p = GetOpts({"-a", "--", "x"}, "a:");  // "--" as an option argument
  ASSERT_TRUE(p);
  EXPECT_EQ(*p->Find('a'), "--");
  EXPECT_EQ(p->positional, (std::vector<std::string>{"x"}));
}

TEST(GetOpts, Errors) {
  EXPECT_FALSE(GetOpts({"-x"}, "a:"));
  EXPECT_FALSE(GetOpts({"-a"}, "a:"));
  EXPECT_FALSE(GetOpts({"-:"}, "a:"));
  EXPECT_FALSE(GetOpts({"-r", "x"}, "a:b:"));
  EXPECT_TRUE(GetOpts({}, "a:"));
}

TEST(Messages, UsageTexts) {
  EXPECT_EQ(UsageServerKey("new-server-key"),
            "usage: postfix tls new-server-key [-a algorithm] [-b bits ] [hostname ...]");
  EXPECT_EQ(UsageEnableServer("enable-server"),
            "usage: postfix tls enable-server [-a algorithm] [-b bits ] [-r devrandom] [hostname ...]");
  EXPECT_EQ(UsageEnableClient("enable-client"), "usage: postfix tls enable-client [-r devrandom]");
  EXPECT_EQ(UsageOutputCsr("output-server-csr"), "usage: postfix tls output-server-csr [-k keyfile] [hostname ...]");
  EXPECT_EQ(UsageOutputTlsa("output-server-tlsa"),
            "usage: postfix tls output-server-tlsa [-h hostname] [keyfile ...]");
  EXPECT_EQ(UsageDeploy("deploy-server-cert"), "usage: postfix tls deploy-server-cert certfile keyfile");
  EXPECT_EQ(UsageAllDefault("all-default-client"), "usage: postfix tls all-default-client");
}

TEST(Messages, ServerBlocks) {
  Lines created = InfoCreated("/c.pem", "/k.pem");
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[1], "  # postfix tls deploy-server-cert /c.pem /k.pem");
  EXPECT_EQ(InfoTlsa("/k.pem", DeployMode::kNotDeployed)[1],
            "  # postfix tls output-server-tlsa [-h <hostname>] /k.pem");
  EXPECT_EQ(InfoTlsa("/k.pem", DeployMode::kEnabled)[1], "  # postfix tls output-server-tlsa [-h <hostname>] ");
  EXPECT_EQ(InfoCsr("/c.pem", "/k.pem", DeployMode::kNotDeployed)[2],
            "Save the signed certificate chain in /c.pem, and deploy as above.");
  EXPECT_EQ(InfoCsr("/c.pem", "/k.pem", DeployMode::kDeployed)[2], "Save the signed certificate chain in /c.pem.");
  EXPECT_EQ(InfoServerDeployed(DeployMode::kEnabled).size(), 5u);
  EXPECT_EQ(InfoServerDeployed(DeployMode::kDeployed).size(), 4u);
  EXPECT_EQ(InfoDaneDns(DeployMode::kNotDeployed).size(), 1u);
  EXPECT_EQ(InfoDaneDns(DeployMode::kEnabled).size(), 2u);
  Lines client = InfoEnableClient("btree");
  EXPECT_EQ(client.back(), "  smtp_tls_session_cache_database = btree:${data_directory}/smtp_scache");
  EXPECT_EQ(InfoEnableClient("").size(), 5u);
}

}  // namespace
}  // namespace pftls::keytool
