// Tests for front/smtp_text and front/proxy_protocol.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include "front/proxy_protocol.h"
#include "front/smtp_text.h"

namespace pftls::front {
namespace {

TEST(SmtpCommand, Classify) {
  EXPECT_EQ(ClassifyCommand("STARTTLS\r\n").verb, Verb::kStartTls);
  EXPECT_FALSE(ClassifyCommand("starttls\r\n").has_args);
  EXPECT_TRUE(ClassifyCommand("STARTTLS foo\r\n").has_args);
  EXPECT_FALSE(ClassifyCommand("STARTTLS   \r\n").has_args);
  auto m = ClassifyCommand("mail FROM:<a@b>\n");
  EXPECT_EQ(m.verb, Verb::kMail);
  EXPECT_EQ(m.args, "FROM:<a@b>");
  EXPECT_EQ(ClassifyCommand("EHLO client.example\r\n").args, "client.example");
  EXPECT_EQ(ClassifyCommand("STARTTLSX\r\n").verb, Verb::kOther);
  EXPECT_EQ(ClassifyCommand("").verb, Verb::kOther);
}

TEST(SmtpReply, AssemblesMultiLineReplies) {
  ReplyAssembler a;
  a.Feed("250-mx.example\r\n250-PIPEL");
  EXPECT_FALSE(a.Next());
  EXPECT_FALSE(a.Overflowed());
  a.Feed("INING\r\n250 8BITMIME\r\n220 next\r\n");
  auto r = a.Next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 250);
  EXPECT_EQ(r->lines.size(), 3u);
  EXPECT_EQ(r->raw, "250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
  auto r2 = a.Next();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->code, 220);
  EXPECT_FALSE(a.Next());
}

TEST(SmtpReply, RejectsRunawayReplies) {
  ReplyAssembler a;
  std::string big(70000, 'x');
  a.Feed(big);
  EXPECT_FALSE(a.Next());
  EXPECT_TRUE(a.Overflowed());
  ReplyAssembler b;
  std::string lines;
  for (int i = 0; i < 300; ++i) lines += "250-x\r\n";
  b.Feed(lines);
  EXPECT_FALSE(b.Next());
  EXPECT_TRUE(b.Overflowed());
}

// A pipelined batch of many complete replies in one read is not a runaway.
TEST(SmtpReply, ManyCompleteRepliesInOneRead) {
  ReplyAssembler a;
  std::string batch;
  for (int i = 0; i < 300; ++i) batch += "250 2.1.5 Ok\r\n";
  a.Feed(batch);
  int n = 0;
  while (a.Next()) ++n;
  EXPECT_EQ(n, 300);
  EXPECT_FALSE(a.Overflowed());
}

TEST(EhloReply, AddAndRemoveStarttls) {
  ReplyAssembler a;
  a.Feed("250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
  auto r = *a.Next();
  EXPECT_EQ(RewriteEhloReply(r, true), "250-mx.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 STARTTLS\r\n");
  EXPECT_EQ(RewriteEhloReply(r, false), r.raw);
  a.Feed("250-mx.example\r\n250-STARTTLS\r\n250-XCLIENT NAME ADDR PORT HELO\r\n250 SIZE 1000\r\n");
  auto r2 = *a.Next();
  EXPECT_EQ(RewriteEhloReply(r2, false), "250-mx.example\r\n250 SIZE 1000\r\n");
  EXPECT_EQ(RewriteEhloReply(r2, true), "250-mx.example\r\n250-STARTTLS\r\n250 SIZE 1000\r\n");
  EhloInfo info = InspectEhloReply(r2);
  EXPECT_TRUE(info.starttls);
  EXPECT_TRUE(info.xclient);
  EXPECT_EQ(info.xclient_attrs, (std::vector<std::string>{"NAME", "ADDR", "PORT", "HELO"}));
  a.Feed("250 mx.example\r\n");
  EXPECT_EQ(RewriteEhloReply(*a.Next(), true), "250-mx.example\r\n250 STARTTLS\r\n");
  a.Feed("554 no\r\n");
  EXPECT_EQ(RewriteEhloReply(*a.Next(), true), "554 no\r\n");
}

sockaddr_storage V4(const char* ip, int port) {
  sockaddr_storage ss{};
  auto& s = reinterpret_cast<sockaddr_in&>(ss);
  s.sin_family = AF_INET;
  s.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &s.sin_addr);
  return ss;
}

TEST(ProxyProtocol, V1) {
  ProxyInfo p{V4("192.0.2.1", 54321), V4("127.0.0.1", 10443)};
  EXPECT_EQ(ProxyV1Header(p), "PROXY TCP4 192.0.2.1 127.0.0.1 54321 10443\r\n");
  ProxyInfo u;
  EXPECT_EQ(ProxyV1Header(u), "PROXY UNKNOWN\r\n");
}

TEST(ProxyProtocol, V2WithSslTlv) {
  ProxyInfo p{V4("192.0.2.1", 54321), V4("127.0.0.1", 10443)};
  p.tls = true;
  p.tls_version = "TLSv1.3";
  std::string h = ProxyV2Header(p);
  // Hand-written reference bytes (PROXY protocol spec section 2.2).
  const std::string want = std::string("\r\n\r\n\0\r\nQUIT\n", 12) + "\x21\x11" + std::string("\x00\x1e", 2) +
                           std::string("\xc0\x00\x02\x01\x7f\x00\x00\x01\xd4\x31\x28\xcb", 12) +
                           std::string("\x20\x00\x0f\x01\x00\x00\x00\x01\x21\x00\x07", 11) + "TLSv1.3";
  EXPECT_EQ(h, want);
}

}  // namespace
}  // namespace pftls::front
