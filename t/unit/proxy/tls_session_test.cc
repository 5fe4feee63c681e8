// Tests for proxy/tls_session: a real TLS client (OpenSSL in a thread of
// its own) on one socketpair, a plaintext peer on another, and the session
// in between on libevent. Checks byte-exact relay both ways (SHA-256),
// KeyUpdate mid-stream, the context list ahead of data, no plaintext I/O
// before the handshake, close_notify on plaintext EOF, the absolute
// handshake deadline and garbage instead of a ClientHello.
#include "proxy/tls_session.h"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>
#include <vector>

#include "ipc/attr0.h"
#include "ipc/fdpass.h"
#include "ipc/msg_tlsproxy.h"
#include "t/tools/tls_duplex.h"
#include "t/unit/tls/tls_testutil.h"

namespace pftls::proxy {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<unsigned char> Sha256(const std::vector<unsigned char>& v) {
  std::vector<unsigned char> d(SHA256_DIGEST_LENGTH);
  SHA256(v.data(), v.size(), d.data());
  return d;
}

class TlsSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // as in every daemon (util/daemon_server.cc); not left to an earlier test
    key_ = testutil::MakeKey("ec");
    cert_ = testutil::MakeSelfSigned(key_.get(), "relay.example.test");
    sctx_.reset(SSL_CTX_new(TLS_server_method()));
    ASSERT_EQ(SSL_CTX_use_certificate(sctx_.get(), cert_.get()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey(sctx_.get(), key_.get()), 1);
    SSL_CTX_set_options(sctx_.get(), SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(sctx_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                      SSL_MODE_RELEASE_BUFFERS);
    cctx_.reset(SSL_CTX_new(TLS_client_method()));
    base_.reset(event_base_new());
    int c[2], p[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
    client_fd_.reset(c[0]);
    session_cipher_.reset(c[1]);
    plain_peer_.reset(p[0]);
    session_plain_.reset(p[1]);
    params_.endpoint = "[127.0.0.1]:12345";
    params_.serverid = "smtpd";
    params_.handshake_timeout = std::chrono::seconds(5);
    params_.session_timeout = std::chrono::seconds(5);
  }

  void StartSession() {
    session_ = std::make_unique<TlsSession>(base_.get(), sctx_.get(), std::move(session_plain_),
                                            std::move(session_cipher_), params_, [this](TlsSession*) {
                                              done_ = true;
                                              done_at_ = Clock::now();
                                              event_base_loopbreak(base_.get());
                                            });
    ASSERT_TRUE(session_->Start());
  }
  // Loop - run the event loop until the session ends or `limit` passes.
  void Loop(std::chrono::seconds limit) {
    timeval tv{static_cast<time_t>(limit.count()), 0};
    event_base_loopexit(base_.get(), &tv);
    event_base_dispatch(base_.get());
  }
  // Client - a blocking TLS client on client_fd_.
  SslPtr Client() {
    SslPtr ssl(SSL_new(cctx_.get()));
    SSL_set_fd(ssl.get(), client_fd_.get());
    return ssl;
  }

  EvpPkeyPtr key_;
  X509Ptr cert_;
  SslCtxPtr sctx_, cctx_;
  EventBasePtr base_;
  UniqueFd client_fd_, session_cipher_, plain_peer_, session_plain_;
  SessionParams params_;
  std::unique_ptr<TlsSession> session_;
  std::atomic<bool> done_{false};
  Clock::time_point done_at_;
};

// 1 MiB each way arrives byte-exact, with a KeyUpdate in the middle.
TEST_F(TlsSessionTest, RelaysBothWaysByteExactWithKeyUpdate) {
  const size_t kSize = 1 << 20;
  std::vector<unsigned char> up(kSize), down(kSize);
  RAND_bytes(up.data(), kSize);
  RAND_bytes(down.data(), kSize);
  std::vector<unsigned char> got_by_client, got_by_plain;
  StartSession();
  std::thread client([&] {
    SslPtr ssl = Client();
    if (SSL_connect(ssl.get()) != 1) return;
    // One thread per SSL object (OpenSSL's rule): a non-blocking duplex loop.
    pftls::testing::TlsDuplex(ssl.get(), client_fd_.get(), up, kSize, &got_by_client, true, std::chrono::seconds(25));
    SSL_shutdown(ssl.get());
    shutdown(client_fd_.get(), SHUT_WR);
  });
  std::thread plain([&] {
    std::thread writer([&] {
      size_t off = 0;
      while (off < kSize) {
        ssize_t w = send(plain_peer_.get(), down.data() + off, std::min<size_t>(5000, kSize - off), MSG_NOSIGNAL);
        if (w <= 0) break;
        off += static_cast<size_t>(w);
      }
    });
    unsigned char buf[16384];
    ssize_t r;
    while ((r = read(plain_peer_.get(), buf, sizeof(buf))) > 0) got_by_plain.insert(got_by_plain.end(), buf, buf + r);
    writer.join();
  });
  Loop(std::chrono::seconds(30));
  client.join();
  // A finished session closed its plaintext end: the plain thread reads
  // what is left and sees EOF. Only a session still up (the test failed)
  // needs the peer closed to unblock it.
  if (!done_) shutdown(plain_peer_.get(), SHUT_RDWR);
  plain.join();
  EXPECT_TRUE(done_);
  ASSERT_EQ(got_by_plain.size(), kSize);
  ASSERT_EQ(got_by_client.size(), kSize);
  EXPECT_EQ(Sha256(got_by_plain), Sha256(up));
  EXPECT_EQ(Sha256(got_by_client), Sha256(down));
}

// The context list precedes every decrypted byte on the plaintext side.
TEST_F(TlsSessionTest, ContextListComesFirst) {
  params_.context = [](const tls::SessionFacts& f) { return "CTX:" + f.protocol + "\n"; };
  StartSession();
  std::thread client([&] {
    SslPtr ssl = Client();
    if (SSL_connect(ssl.get()) == 1) {
      SSL_write(ssl.get(), "hello", 5);
      SSL_shutdown(ssl.get());
    }
  });
  Loop(std::chrono::seconds(10));
  client.join();
  char buf[256];
  ssize_t n = read(plain_peer_.get(), buf, sizeof(buf));
  ASSERT_GT(n, 0);
  std::string got(buf, static_cast<size_t>(n));
  while ((n = read(plain_peer_.get(), buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(got, "CTX:TLSv1.3\nhello");
}

// Plaintext written before the handshake stays unread until it completes.
TEST_F(TlsSessionTest, NoPlaintextIoBeforeHandshake) {
  ASSERT_EQ(write(plain_peer_.get(), "early", 5), 5);
  int plain_end = session_plain_.get();
  StartSession();
  Loop(std::chrono::seconds(1));  // no ClientHello yet: the loop idles
  int pending = 0;
  ASSERT_EQ(ioctl(plain_end, FIONREAD, &pending), 0);
  EXPECT_EQ(pending, 5);
  EXPECT_FALSE(done_);
  // The server wrote nothing to the client either.
  ASSERT_EQ(ioctl(client_fd_.get(), FIONREAD, &pending), 0);
  EXPECT_EQ(pending, 0);
}

// Plaintext EOF: the client gets the data, then a close_notify.
TEST_F(TlsSessionTest, PlaintextEofSendsCloseNotify) {
  StartSession();
  std::atomic<int> last_error{-1};
  std::string got;
  std::thread client([&] {
    SslPtr ssl = Client();
    if (SSL_connect(ssl.get()) != 1) return;
    char buf[64];
    int n;
    while ((n = SSL_read(ssl.get(), buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
    last_error = SSL_get_error(ssl.get(), n);
  });
  ASSERT_EQ(write(plain_peer_.get(), "221 bye\r\n", 9), 9);
  shutdown(plain_peer_.get(), SHUT_WR);
  Loop(std::chrono::seconds(10));
  client.join();
  EXPECT_TRUE(done_);
  EXPECT_EQ(got, "221 bye\r\n");
  EXPECT_EQ(last_error.load(), SSL_ERROR_ZERO_RETURN);
}

// A client dribbling bytes cannot extend the handshake deadline.
TEST_F(TlsSessionTest, HandshakeDeadlineIsAbsolute) {
  params_.handshake_timeout = std::chrono::seconds(2);
  auto start = Clock::now();
  StartSession();
  std::atomic<bool> stop{false};
  std::thread dribble([&] {
    // A TLS record header, one byte every 300 ms.
    const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
    for (unsigned char b : hello) {
      if (stop) break;
      if (write(client_fd_.get(), &b, 1) != 1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  });
  Loop(std::chrono::seconds(10));
  stop = true;
  dribble.join();
  ASSERT_TRUE(done_);
  double secs = std::chrono::duration<double>(done_at_ - start).count();
  EXPECT_GE(secs, 1.9);
  EXPECT_LT(secs, 3.0);
}

// Noise instead of a ClientHello ends the session at once.
TEST_F(TlsSessionTest, GarbageEndsSession) {
  StartSession();
  std::vector<unsigned char> noise(16384);
  RAND_bytes(noise.data(), noise.size());
  noise[0] = 0x16;  // looks like a handshake record at first
  ASSERT_GT(write(client_fd_.get(), noise.data(), noise.size()), 0);
  Loop(std::chrono::seconds(5));
  EXPECT_TRUE(done_);
}

// Half-close (tlsfront): the client's close_notify ends only the upstream
// direction; the plaintext peer's later reply still reaches the client.
TEST_F(TlsSessionTest, HalfCloseKeepsTheOtherDirection) {
  params_.half_close = true;
  StartSession();
  std::string got;
  std::thread client([&] {
    SslPtr ssl = Client();
    if (SSL_connect(ssl.get()) != 1) return;
    SSL_write(ssl.get(), "GET\n", 4);
    SSL_shutdown(ssl.get());  // close_notify: we are done sending
    char buf[64];
    int n;
    while ((n = SSL_read(ssl.get(), buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  });
  std::thread plain([&] {
    std::string req;
    char buf[64];
    ssize_t n;
    while ((n = read(plain_peer_.get(), buf, sizeof(buf))) > 0) req.append(buf, static_cast<size_t>(n));
    // EOF seen (upstream closed); now answer and close.
    std::string reply = "REPLY to " + req;
    (void)!write(plain_peer_.get(), reply.data(), reply.size());
    shutdown(plain_peer_.get(), SHUT_WR);
  });
  Loop(std::chrono::seconds(10));
  client.join();
  plain.join();
  EXPECT_TRUE(done_);
  EXPECT_EQ(got, "REPLY to GET\n");
}

}  // namespace
}  // namespace pftls::proxy

namespace pftls::proxy {
namespace {

// The ClientHello hook can pause the handshake (async lookup) and resume it.
// ALPN: server preference among what the client offers; the result reaches
// the context hook; no overlap means no ALPN, not a failed handshake.
TEST_F(TlsSessionTest, AlpnServerPreferenceAndNoOverlap) {
  EXPECT_EQ(TlsSession::AlpnWire("h2,http/1.1"), std::string("\x02h2\x08http/1.1"));
  TlsSession::InstallAlpnHook(sctx_.get());
  params_.alpn = TlsSession::AlpnWire("h2,http/1.1");
  params_.context = [](const tls::SessionFacts& f) { return "ALPN:" + f.alpn + "\n"; };
  StartSession();
  std::string client_saw;
  std::thread client([&] {
    SslPtr ssl = Client();
    static const unsigned char kOffer[] = "\x08http/1.1\x02h2";  // client prefers http/1.1
    SSL_set_alpn_protos(ssl.get(), kOffer, sizeof(kOffer) - 1);
    if (SSL_connect(ssl.get()) == 1) {
      const unsigned char* sel = nullptr;
      unsigned len = 0;
      SSL_get0_alpn_selected(ssl.get(), &sel, &len);
      client_saw.assign(reinterpret_cast<const char*>(sel), len);
      SSL_shutdown(ssl.get());
    }
  });
  Loop(std::chrono::seconds(10));
  client.join();
  EXPECT_EQ(client_saw, "h2");
  char buf[256];
  ssize_t n = read(plain_peer_.get(), buf, sizeof(buf));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "ALPN:h2\n");
}

TEST_F(TlsSessionTest, AlpnNoOverlapProceedsWithout) {
  TlsSession::InstallAlpnHook(sctx_.get());
  params_.alpn = TlsSession::AlpnWire("h2");
  params_.context = [](const tls::SessionFacts& f) { return "ALPN:" + f.alpn + "\n"; };
  StartSession();
  bool connected = false;
  unsigned selected_len = 99;
  std::thread client([&] {
    SslPtr ssl = Client();
    static const unsigned char kOffer[] = "\x04imap";
    SSL_set_alpn_protos(ssl.get(), kOffer, sizeof(kOffer) - 1);
    connected = SSL_connect(ssl.get()) == 1;
    if (connected) {
      const unsigned char* sel = nullptr;
      SSL_get0_alpn_selected(ssl.get(), &sel, &selected_len);
      SSL_shutdown(ssl.get());
    }
  });
  Loop(std::chrono::seconds(10));
  client.join();
  EXPECT_TRUE(connected);
  EXPECT_EQ(selected_len, 0u);
  char buf[256];
  ssize_t n = read(plain_peer_.get(), buf, sizeof(buf));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "ALPN:\n");
}

TEST_F(TlsSessionTest, ClientHelloHookPausesAndResumes) {
  TlsSession::InstallClientHelloHook(sctx_.get());
  int calls = 0;
  EventPtr later;
  params_.client_hello = [&](TlsSession& s, SSL*) {
    if (++calls > 1) return true;  // second call: the data "arrived"
    later.reset(evtimer_new(base_.get(), [](evutil_socket_t, short, void* arg) {
      static_cast<TlsSession*>(arg)->Resume();
    }, &s));
    timeval tv{0, 200000};
    evtimer_add(later.get(), &tv);
    return false;
  };
  StartSession();
  std::string got;
  std::thread client([&] {
    SslPtr ssl = Client();
    if (SSL_connect(ssl.get()) == 1) {
      SSL_write(ssl.get(), "x", 1);
      SSL_shutdown(ssl.get());
    }
  });
  Loop(std::chrono::seconds(10));
  client.join();
  EXPECT_TRUE(done_);
  EXPECT_EQ(calls, 2);
  char buf[8];
  EXPECT_EQ(read(plain_peer_.get(), buf, sizeof(buf)), 1);
}

// Direct relay: the context goes to the control connection, client bytes
// wait (bounded) for the backend socket passed on it, then TLS <-> backend
// with half-close, and a TlsproxyDone record with the counts ends it.
TEST_F(TlsSessionTest, DirectRelayTakesTheBackendSocket) {
  params_.direct_relay = true;
  params_.half_close = true;
  params_.context = [](const tls::SessionFacts&) { return std::string("CTX\n"); };
  int b[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
  UniqueFd backend_peer(b[0]), backend(b[1]);
  StartSession();
  std::string got;
  std::thread client([&] {
    SslPtr ssl = Client();
    if (SSL_connect(ssl.get()) != 1) return;
    SSL_write(ssl.get(), "early bytes", 11);
    SSL_shutdown(ssl.get());
    char buf[64];
    int n;
    while ((n = SSL_read(ssl.get(), buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  });
  std::string ctl, req;
  std::thread front([&] {
    char buf[256];
    ssize_t n = read(plain_peer_.get(), buf, sizeof(buf));  // the context list
    if (n > 0) ctl.assign(buf, static_cast<size_t>(n));
    usleep(200 * 1000);  // the client's bytes arrive meanwhile: held by the session
    if (!ipc::SendFd(plain_peer_.get(), backend.get())) return;
    backend.reset();
    while ((n = read(backend_peer.get(), buf, sizeof(buf))) > 0) req.append(buf, static_cast<size_t>(n));
    (void)!write(backend_peer.get(), "reply", 5);
    shutdown(backend_peer.get(), SHUT_WR);
    std::string done;
    while ((n = read(plain_peer_.get(), buf, sizeof(buf))) > 0) done.append(buf, static_cast<size_t>(n));
    auto rec = ipc::ParseRecord(done);
    auto d = rec ? ipc::TlsproxyDone::Decode(*rec) : Result<ipc::TlsproxyDone>(MakeError(rec.error()));
    EXPECT_TRUE(d) << d.error();
    if (d) {
      EXPECT_EQ(*d, (ipc::TlsproxyDone{11, 5}));
    }
  });
  Loop(std::chrono::seconds(10));
  client.join();
  front.join();
  EXPECT_TRUE(done_);
  EXPECT_EQ(ctl, "CTX\n");
  EXPECT_EQ(req, "early bytes");
  EXPECT_EQ(got, "reply");
}

// Direct relay: the front end closing its connection ends the session.
TEST_F(TlsSessionTest, DirectRelayEndsWhenTheFrontCloses) {
  params_.direct_relay = true;
  params_.context = [](const tls::SessionFacts&) { return std::string("CTX\n"); };
  StartSession();
  std::thread client([&] {
    SslPtr ssl = Client();
    if (SSL_connect(ssl.get()) != 1) return;
    char buf[64];
    while (SSL_read(ssl.get(), buf, sizeof(buf)) > 0) {
    }
  });
  std::thread front([&] {
    char buf[64];
    (void)!read(plain_peer_.get(), buf, sizeof(buf));
    plain_peer_.reset();
  });
  Loop(std::chrono::seconds(10));
  front.join();
  shutdown(client_fd_.get(), SHUT_RDWR);
  client.join();
  EXPECT_TRUE(done_);
}

}  // namespace
}  // namespace pftls::proxy
