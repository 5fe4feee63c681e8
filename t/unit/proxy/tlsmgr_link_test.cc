// Tests for proxy/tlsmgr_link against an in-process tlsmgr (ipc::Server with
// the real routing table and a small in-memory service): resumption by
// TLS 1.3 ticket, TLS 1.2 ticket and TLS 1.2 session id, each across two
// independent "proxy processes" (separate SSL_CTX and link); and a tlsmgr
// that accepts but never answers costs resumption, not the handshake.
#include "proxy/tlsmgr_link.h"

#include <openssl/rand.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "ipc/server.h"
#include "ipc/tlsmgr_routes.h"
#include "ipc/unix_socket.h"
#include "t/unit/tls/tls_testutil.h"

namespace pftls::proxy {
namespace {

using Clock = std::chrono::steady_clock;

class FakeTlsmgr : public ipc::TlsmgrService {
 public:
  FakeTlsmgr() {
    key_.name.fill(0x42);
    RAND_bytes(key_.bits.data(), 32);
    RAND_bytes(key_.hmac.data(), 32);
    key_.tout = time(nullptr) + 1800;
  }
  ipc::SeedReply Seed(const ipc::SeedRequest& r) override {
    ipc::SeedReply out;
    out.seed = SecretBytes(r.size);
    RAND_bytes(out.seed.data(), static_cast<int>(r.size));
    return out;
  }
  ipc::PolicyReply Policy(const ipc::PolicyRequest&) override { return {ipc::kStatOk, 1, 3600}; }
  ipc::LookupReply Lookup(const ipc::LookupRequest& r) override {
    ++lookups;
    auto it = cache.find(r.cache_id);
    if (it == cache.end()) return {ipc::kStatErr, {}};
    return {ipc::kStatOk, SecretBytes(it->second.data(), it->second.size())};
  }
  ipc::StatusReply Update(const ipc::UpdateRequest& r) override {
    cache[r.cache_id] = std::vector<uint8_t>(r.session.data(), r.session.data() + r.session.size());
    return {ipc::kStatOk};
  }
  ipc::StatusReply Delete(const ipc::DeleteRequest& r) override {
    cache.erase(r.cache_id);
    return {ipc::kStatOk};
  }
  ipc::TktkeyReply Tktkey(const ipc::TktkeyRequest& r) override {
    ++tktkeys;
    if (!r.keyname.empty() && std::memcmp(r.keyname.data(), key_.name.data(), 16) != 0)
      return {ipc::kStatErr, SecretBytes(reinterpret_cast<const uint8_t*>(r.keyname.data()), 16)};
    return {ipc::kStatOk, key_.Serialize()};
  }
  std::map<std::string, std::vector<uint8_t>> cache;
  int lookups = 0, tktkeys = 0;

 private:
  ipc::TicketKey key_;
};

// A "proxy process": its own SSL_CTX and link, sharing the event loop.
struct Proxy {
  SslCtxPtr ctx;
  std::unique_ptr<TlsmgrLink> link;
};

class LinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::TempDir();
    key_ = testutil::MakeKey("ec");
    cert_ = testutil::MakeSelfSigned(key_.get(), "link.example.test");
    base_.reset(event_base_new());
    path_ = dir_ + "/tlsmgr";
  }
  void TearDown() override { testutil::RemoveTree(dir_); }

  void StartTlsmgr() {
    auto fd = ipc::ListenUnix(path_);
    ASSERT_TRUE(fd) << fd.error();
    server_ = std::make_unique<ipc::Server>(base_.get(), std::move(*fd), ipc::TlsmgrServerOptions(),
                                            ipc::TlsmgrRoutes(mgr_));
    ASSERT_TRUE(server_->Start().ok());
  }

  Proxy MakeProxy(LinkOptions o = {}) {
    Proxy p;
    p.ctx.reset(SSL_CTX_new(TLS_server_method()));
    SSL_CTX_use_certificate(p.ctx.get(), cert_.get());
    SSL_CTX_use_PrivateKey(p.ctx.get(), key_.get());
    static const unsigned char kSid[] = "Postfix/TLS";
    SSL_CTX_set_session_id_context(p.ctx.get(), kSid, sizeof(kSid) - 1);
    SSL_CTX_set_options(p.ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_num_tickets(p.ctx.get(), 1);
    o.socket_path = path_;
    p.link = std::make_unique<TlsmgrLink>(base_.get(), o);
    // Start() is blocking: run the fake tlsmgr's loop in the meantime.
    std::thread t([&] {
      p.link->Start();
      done_start_ = true;
    });
    auto until = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < until && t.joinable()) {
      event_base_loop(base_.get(), EVLOOP_NONBLOCK);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (done_start_.exchange(false)) break;
    }
    t.join();
    p.link->Install(p.ctx.get(), EVP_aes_256_cbc());
    RunFor(100);  // let the current key arrive
    return p;
  }

  void RunFor(int ms) {
    timeval tv{0, ms * 1000};
    event_base_loopexit(base_.get(), &tv);
    event_base_dispatch(base_.get());
  }

  // Handshake - one connection through `p`; returns {reused, session, seconds}.
  struct Outcome {
    bool ok = false, reused = false;
    SslSessionPtr session;
    double seconds = 0;
  };
  Outcome Connect(Proxy& p, int max_version, SSL_SESSION* resume, bool no_ticket = false) {
    int c[2], pl[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pl), 0);
    UniqueFd client_fd(c[0]), plain_peer(pl[0]);
    SessionParams params;
    params.endpoint = "[127.0.0.1]:1";
    params.serverid = "smtpd";
    params.handshake_timeout = std::chrono::seconds(5);
    params.client_hello = [&p](TlsSession& s, SSL* ssl) { return p.link->OnClientHello(s, ssl); };
    bool done = false;
    TlsSession session(base_.get(), p.ctx.get(), UniqueFd(pl[1]), UniqueFd(c[1]), params,
                       [&](TlsSession*) { done = true; });
    Outcome out;
    auto start = Clock::now();
    std::thread client([&] {
      SslCtxPtr cctx(SSL_CTX_new(TLS_client_method()));
      SSL_CTX_set_max_proto_version(cctx.get(), max_version);
      if (no_ticket) SSL_CTX_set_options(cctx.get(), SSL_OP_NO_TICKET);
      SslPtr ssl(SSL_new(cctx.get()));
      SSL_set_fd(ssl.get(), client_fd.get());
      if (resume) SSL_set_session(ssl.get(), resume);
      if (SSL_connect(ssl.get()) != 1) return;
      out.ok = true;
      out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      out.reused = SSL_session_reused(ssl.get()) == 1;
      SSL_write(ssl.get(), "x", 1);
      char b;
      SSL_read(ssl.get(), &b, 1);  // processes the TLS 1.3 ticket, then sees EOF
      out.session.reset(SSL_get1_session(ssl.get()));
      SSL_shutdown(ssl.get());
    });
    EXPECT_TRUE(session.Start());
    std::thread plain([&] {
      char b;
      if (read(plain_peer.get(), &b, 1) == 1) plain_peer.reset();  // then EOF ends the session
    });
    auto until = Clock::now() + std::chrono::seconds(10);
    while (!done && Clock::now() < until) RunFor(20);
    client.join();
    plain.join();
    RunFor(50);  // let async updates reach the fake tlsmgr
    return out;
  }

  std::string dir_, path_;
  EvpPkeyPtr key_;
  X509Ptr cert_;
  EventBasePtr base_;
  FakeTlsmgr mgr_;
  std::unique_ptr<ipc::Server> server_;
  std::atomic<bool> done_start_{false};
};

TEST_F(LinkTest, Tls13TicketResumesAcrossProcesses) {
  StartTlsmgr();
  Proxy a = MakeProxy(), b = MakeProxy();
  Outcome first = Connect(a, TLS1_3_VERSION, nullptr);
  ASSERT_TRUE(first.ok);
  ASSERT_TRUE(first.session);
  Outcome second = Connect(b, TLS1_3_VERSION, first.session.get());
  EXPECT_TRUE(second.ok);
  EXPECT_TRUE(second.reused);
}

TEST_F(LinkTest, Tls12TicketResumesAcrossProcesses) {
  StartTlsmgr();
  Proxy a = MakeProxy(), b = MakeProxy();
  Outcome first = Connect(a, TLS1_2_VERSION, nullptr);
  ASSERT_TRUE(first.ok);
  Outcome second = Connect(b, TLS1_2_VERSION, first.session.get());
  EXPECT_TRUE(second.reused);
}

TEST_F(LinkTest, Tls12SessionIdResumesAcrossProcesses) {
  StartTlsmgr();
  Proxy a = MakeProxy(), b = MakeProxy();
  ASSERT_TRUE(a.link->cache_enabled());
  Outcome first = Connect(a, TLS1_2_VERSION, nullptr, /*no_ticket=*/true);
  ASSERT_TRUE(first.ok);
  EXPECT_EQ(mgr_.cache.size(), 1u);
  Outcome second = Connect(b, TLS1_2_VERSION, first.session.get(), true);
  EXPECT_TRUE(second.reused);
  EXPECT_GE(mgr_.lookups, 1);
}

TEST_F(LinkTest, SilentTlsmgrCostsResumptionNotHandshakes) {
  // A listener nobody answers on: connects succeed, replies never come.
  auto fd = ipc::ListenUnix(path_);
  ASSERT_TRUE(fd);
  Proxy a = MakeProxy();
  // A session to resume from another proxy that had keys is not needed:
  // an offered unknown ticket and a session id both try tlsmgr.
  for (int i = 0; i < 5; ++i) {
    Outcome o = Connect(a, i % 2 ? TLS1_2_VERSION : TLS1_3_VERSION, nullptr, i % 2);
    EXPECT_TRUE(o.ok);
    EXPECT_LT(o.seconds, 2.0);
  }
}

TEST_F(LinkTest, OutageCostsOneDeadlinePerProcessThenRecovers) {
  // A fresh process while tlsmgr is silent: its start pays the deadline,
  // then no handshake waits, not even after the breaker has elapsed (a
  // key fetch nobody waits for probes tlsmgr then). Before: each handshake
  // after the breaker waited a deadline for the current key.
  auto silent = ipc::ListenUnix(path_);
  ASSERT_TRUE(silent);
  LinkOptions o;
  o.deadline = std::chrono::milliseconds(400);
  o.breaker = std::chrono::seconds(1);
  Proxy a = MakeProxy(o);
  EXPECT_FALSE(a.link->keys().HasCurrent(time(nullptr)));
  for (int i = 0; i < 3; ++i) {
    RunFor(1100);  // past the breaker
    Outcome out = Connect(a, TLS1_3_VERSION, nullptr);
    EXPECT_TRUE(out.ok);
    EXPECT_LT(out.seconds, 0.3) << "handshake " << i << " waited for a silent tlsmgr";
  }
  // tlsmgr comes back: the next probe after the breaker ends the outage
  // and tickets resume.
  silent->reset();
  StartTlsmgr();
  RunFor(1100);
  Connect(a, TLS1_3_VERSION, nullptr);  // sends the probe
  auto until = Clock::now() + std::chrono::seconds(3);
  while (Clock::now() < until && !a.link->keys().HasCurrent(time(nullptr))) RunFor(50);
  ASSERT_TRUE(a.link->keys().HasCurrent(time(nullptr)));
  Outcome first = Connect(a, TLS1_3_VERSION, nullptr);
  ASSERT_TRUE(first.ok && first.session);
  Outcome again = Connect(a, TLS1_3_VERSION, first.session.get());
  EXPECT_TRUE(again.reused);
}

}  // namespace
}  // namespace pftls::proxy
