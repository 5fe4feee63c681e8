// Tests for front/handoff_client against proxy/handoff over a real UNIX
// socket: ready path with a TLS client and relay; unreachable proxy; a
// proxy without TLS (status 0); a peer that is not tlsproxy.
#include "front/handoff_client.h"

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <thread>

#include "front/context_reader.h"
#include "ipc/unix_socket.h"
#include "proxy/handoff.h"
#include "t/unit/tls/tls_testutil.h"

namespace pftls::front {
namespace {

class HandoffClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::TempDir();
    path_ = dir_ + "/tlsproxy";
    key_ = testutil::MakeKey("ec");
    cert_ = testutil::MakeSelfSigned(key_.get(), "front.example.test");
    sctx_.reset(SSL_CTX_new(TLS_server_method()));
    SSL_CTX_use_certificate(sctx_.get(), cert_.get());
    SSL_CTX_use_PrivateKey(sctx_.get(), key_.get());
    base_.reset(event_base_new());
    req_.remote_endpoint = "[192.0.2.7]:4567";
    req_.flags = ipc::kTlsproxyRoleServer;
    req_.handshake_timeout = 5;
    req_.session_timeout = 5;
    req_.serverid = "smtpd";
  }
  void TearDown() override { testutil::RemoveTree(dir_); }

  void StartProxy(SSL_CTX* ctx) {
    auto fd = ipc::ListenUnix(path_);
    ASSERT_TRUE(fd) << fd.error();
    listen_ = std::move(*fd);
    SetNonBlocking(listen_.get());
    proxy::HandoffEnv env;
    env.ctx = ctx;
    env.level = tls::TlsLevel::kMay;
    server_ = std::make_unique<proxy::HandoffServer>(base_.get(), env);
    accept_.reset(event_new(base_.get(), listen_.get(), EV_READ | EV_PERSIST,
                            [](evutil_socket_t lfd, short, void* arg) {
                              int c = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
                              if (c >= 0) static_cast<proxy::HandoffServer*>(arg)->Accept(UniqueFd(c));
                            },
                            server_.get()));
    event_add(accept_.get(), nullptr);
  }

  HandoffResult Run(int client_fd) {
    HandoffResult out;
    bool done = false;
    auto h = std::make_unique<HandoffClient>(base_.get(), path_, req_, client_fd, [&](HandoffResult r) {
      out = std::move(r);
      done = true;
    }, std::chrono::milliseconds(2000));
    h->Start();
    for (int i = 0; i < 100 && !done; ++i) {
      timeval tv{0, 50000};
      event_base_loopexit(base_.get(), &tv);
      event_base_dispatch(base_.get());
    }
    return out;
  }

  // RunEarly - an early hand-off (with the context list) of one end of a
  // socket pair; *remote gets the other end, the client's.
  HandoffResult RunEarly(UniqueFd* remote) {
    req_.flags |= ipc::kTlsproxySendContext;
    req_.pftls_flags = ipc::kPftlsEarlyFd;
    int tcp[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, tcp), 0);
    remote->reset(tcp[0]);
    UniqueFd ours(tcp[1]);
    return Run(ours.get());  // the front closes its copy after the hand-off
  }

  std::string dir_, path_;
  EvpPkeyPtr key_;
  X509Ptr cert_;
  SslCtxPtr sctx_;
  EventBasePtr base_;
  UniqueFd listen_;
  EventPtr accept_;
  std::unique_ptr<proxy::HandoffServer> server_;
  ipc::TlsproxyRequest req_;
};

TEST_F(HandoffClientTest, ReadyThenTlsAndRelay) {
  StartProxy(sctx_.get());
  int tcp[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, tcp), 0);
  UniqueFd remote(tcp[0]), ours(tcp[1]);
  HandoffResult r = Run(ours.get());
  ASSERT_TRUE(r.ready) << r.error;
  ours.reset();  // the front closes its copy after the hand-off
  SetNonBlocking(r.proxy.get(), false);
  timeval rcv{5, 0};
  setsockopt(remote.get(), SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
  setsockopt(r.proxy.get(), SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
  std::string got;
  std::thread client([&] {
    SslCtxPtr cctx(SSL_CTX_new(TLS_client_method()));
    SslPtr ssl(SSL_new(cctx.get()));
    SSL_set_fd(ssl.get(), remote.get());
    if (SSL_connect(ssl.get()) != 1) return;
    SSL_write(ssl.get(), "ping", 4);
    char buf[16];
    int n = SSL_read(ssl.get(), buf, sizeof(buf));
    if (n > 0) got.assign(buf, static_cast<size_t>(n));
  });
  std::thread backend([&] {
    char buf[16];
    ssize_t n = read(r.proxy.get(), buf, sizeof(buf));
    if (n == 4) (void)!write(r.proxy.get(), "pong", 4);
  });
  for (int i = 0; i < 100 && got.empty(); ++i) {
    timeval tv{0, 50000};
    event_base_loopexit(base_.get(), &tv);
    event_base_dispatch(base_.get());
  }
  client.join();
  backend.join();
  EXPECT_EQ(got, "pong");
}

TEST_F(HandoffClientTest, UnreachableProxy) {
  HandoffResult r = Run(0);
  EXPECT_FALSE(r.ready);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(HandoffClientTest, StatusZero) {
  StartProxy(nullptr);
  HandoffResult r = Run(0);
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.error.find("not available"), std::string::npos) << r.error;
}

TEST_F(HandoffClientTest, WrongAnnouncement) {
  auto fd = ipc::ListenUnix(path_);
  ASSERT_TRUE(fd);
  listen_ = std::move(*fd);
  std::thread t([&] {
    int c = accept(listen_.get(), nullptr, nullptr);
    static const char kBad[] = "protocol\0tlsmgr_protocol\0";
    (void)!write(c, kBad, sizeof(kBad));
    char b[64];
    (void)!read(c, b, sizeof(b));
    close(c);
  });
  HandoffResult r = Run(0);
  t.join();
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.error.find("unexpected protocol"), std::string::npos) << r.error;
}

// ReadContext - ContextReader on proxy (prelude: the early hand-off).
ContextResult ReadContext(event_base* base, int proxy, bool prelude) {
  ContextResult out;
  out.failure = "never finished";
  bool done = false;
  ContextReader reader;
  EXPECT_TRUE(reader.Start(base, proxy, std::chrono::seconds(5), "[192.0.2.7]:4567", [&](ContextResult r) {
    out = std::move(r);
    done = true;
  }, prelude));
  for (int i = 0; i < 100 && !done; ++i) {
    timeval tv{0, 50000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
  }
  return out;
}

TEST_F(HandoffClientTest, EarlyHandoffReadsStatusWithTheContext) {
  StartProxy(sctx_.get());
  UniqueFd remote;
  HandoffResult r = RunEarly(&remote);
  ASSERT_TRUE(r.ready) << r.error;
  EXPECT_TRUE(r.prelude);
  std::thread client([&] {
    SslCtxPtr cctx(SSL_CTX_new(TLS_client_method()));
    SslPtr ssl(SSL_new(cctx.get()));
    SSL_set_fd(ssl.get(), remote.get());
    if (SSL_connect(ssl.get()) == 1) SSL_shutdown(ssl.get());
  });
  ContextResult c = ReadContext(base_.get(), r.proxy.get(), r.prelude);
  client.join();
  EXPECT_EQ(c.failure, nullptr) << c.failure;
  EXPECT_EQ(c.ctx.namaddr, "[192.0.2.7]:4567");
}

TEST_F(HandoffClientTest, EarlyHandoffStatusZeroIsTlsNotAvailable) {
  StartProxy(nullptr);
  UniqueFd remote;
  HandoffResult r = RunEarly(&remote);
  ASSERT_TRUE(r.ready) << r.error;
  ContextResult c = ReadContext(base_.get(), r.proxy.get(), r.prelude);
  ASSERT_NE(c.failure, nullptr);
  EXPECT_STREQ(c.failure, "TLS not available");
}

}  // namespace
}  // namespace pftls::front
