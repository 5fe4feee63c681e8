// Tests for front/smtp_conn: queues free their storage when empty, reads
// stop at the cap, writes leave on the loop and report when drained, EOF,
// connect success/refusal, read and connect timeouts, and a callback may
// destroy the connection.
#include "front/smtp_conn.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace pftls::front {
namespace {

using std::chrono::seconds;

struct Pair {
  UniqueFd outer;
  int inner = -1;  // given to the SmtpConn
};
Pair MakePair() {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  return {UniqueFd(sv[0]), sv[1]};
}

void RunUntil(event_base* base, const bool& done, int max_ms) {
  for (int i = 0; i < max_ms / 10 && !done; ++i) {
    timeval tv{0, 10000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
  }
}

// Recorder - what the callbacks saw.
struct Recorder {
  int reads = 0, written = 0;
  short events = 0;
  int err = 0;
  bool destroy_on_event = false;
  std::unique_ptr<SmtpConn>* owner = nullptr;
  static void Read(SmtpConn*, void* arg) { static_cast<Recorder*>(arg)->reads++; }
  static void Written(SmtpConn*, void* arg) { static_cast<Recorder*>(arg)->written++; }
  static void Event(SmtpConn*, short what, void* arg) {
    auto* r = static_cast<Recorder*>(arg);
    r->events |= what;
    r->err = errno;
    if (r->destroy_on_event && r->owner) r->owner->reset();
  }
};

TEST(ByteQueue, FreesStorageWhenEmpty) {
  ByteQueue q;
  q.Append("hello ");
  q.Append("world");
  EXPECT_EQ(q.view(), "hello world");
  q.Drain(6);
  EXPECT_EQ(q.view(), "world");
  q.Append("!");  // the taken prefix moves out
  EXPECT_EQ(q.view(), "world!");
  q.Drain(100);  // more than held: everything
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.view(), "");
}

TEST(SmtpConn, ReadsWritesAndReportsDrainAndEof) {
  EventBasePtr base(event_base_new());
  Pair p = MakePair();
  Recorder r;
  auto c = std::make_unique<SmtpConn>(base.get(), 1024);
  ASSERT_TRUE(c->Attach(p.inner));
  c->SetCallbacks(Recorder::Read, Recorder::Written, Recorder::Event, &r);
  c->Enable(EV_READ | EV_WRITE);
  ASSERT_EQ(write(p.outer.get(), "EHLO x\r\n", 8), 8);
  bool got = false;
  for (int i = 0; i < 100 && !got; ++i) {
    RunUntil(base.get(), got, 10);
    got = r.reads > 0;
  }
  EXPECT_EQ(c->input(), "EHLO x\r\n");
  c->Drain(8);
  EXPECT_EQ(c->input(), "");
  // Two writes in one pass leave together, after the call returns.
  c->Write("250-a\r\n");
  c->Write("250 b\r\n");
  EXPECT_EQ(c->output_size(), 14u);
  char buf[64];
  EXPECT_EQ(recv(p.outer.get(), buf, sizeof(buf), MSG_DONTWAIT), -1);
  bool drained = false;
  for (int i = 0; i < 100 && !drained; ++i) {
    RunUntil(base.get(), drained, 10);
    drained = r.written > 0;
  }
  EXPECT_EQ(c->output_size(), 0u);
  ssize_t n = recv(p.outer.get(), buf, sizeof(buf), 0);
  ASSERT_EQ(n, 14);
  EXPECT_EQ(std::string(buf, 14), "250-a\r\n250 b\r\n");
  p.outer.reset();
  bool eof = false;
  for (int i = 0; i < 100 && !eof; ++i) {
    RunUntil(base.get(), eof, 10);
    eof = r.events != 0;
  }
  EXPECT_EQ(r.events, BEV_EVENT_EOF | BEV_EVENT_READING);
}

TEST(SmtpConn, StopsReadingAtTheCapAndResumesOnDrain) {
  EventBasePtr base(event_base_new());
  Pair p = MakePair();
  Recorder r;
  auto c = std::make_unique<SmtpConn>(base.get(), 100);
  ASSERT_TRUE(c->Attach(p.inner));
  c->SetCallbacks(Recorder::Read, nullptr, Recorder::Event, &r);
  c->Enable(EV_READ);
  std::string data(1000, 'x');
  ASSERT_EQ(write(p.outer.get(), data.data(), data.size()), 1000);
  bool never = false;
  RunUntil(base.get(), never, 100);
  EXPECT_EQ(c->input().size(), 100u);  // one read of at most the room left
  int reads = r.reads;
  RunUntil(base.get(), never, 50);
  EXPECT_EQ(r.reads, reads);  // full: no more reads
  c->Drain(100);
  RunUntil(base.get(), never, 100);
  EXPECT_EQ(c->input().size(), 100u);
}

TEST(SmtpConn, DisabledWriteHoldsOutput) {
  EventBasePtr base(event_base_new());
  Pair p = MakePair();
  Recorder r;
  auto c = std::make_unique<SmtpConn>(base.get(), 1024);
  ASSERT_TRUE(c->Attach(p.inner));
  c->SetCallbacks(nullptr, Recorder::Written, Recorder::Event, &r);
  c->Disable(EV_READ | EV_WRITE);
  c->Write("held");
  bool never = false;
  RunUntil(base.get(), never, 50);
  char buf[16];
  EXPECT_EQ(recv(p.outer.get(), buf, sizeof(buf), MSG_DONTWAIT), -1);
  c->Enable(EV_WRITE);
  RunUntil(base.get(), never, 50);
  EXPECT_EQ(recv(p.outer.get(), buf, sizeof(buf), MSG_DONTWAIT), 4);
  EXPECT_EQ(r.written, 1);
}

TEST(SmtpConn, ReadTimeoutAndDestroyFromCallback) {
  EventBasePtr base(event_base_new());
  Pair p = MakePair();
  Recorder r;
  auto c = std::make_unique<SmtpConn>(base.get(), 1024);
  r.owner = &c;
  r.destroy_on_event = true;
  ASSERT_TRUE(c->Attach(p.inner));
  c->SetCallbacks(Recorder::Read, nullptr, Recorder::Event, &r);
  c->SetTimeouts(seconds(1), seconds(0));
  c->Enable(EV_READ);
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    RunUntil(base.get(), gone, 10);
    gone = !c;
  }
  EXPECT_TRUE(gone);
  EXPECT_EQ(r.events, BEV_EVENT_TIMEOUT | BEV_EVENT_READING);
}

int Listener(sockaddr_in* sin, bool listen_too) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  *sin = {};
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(sin), sizeof(*sin)), 0);
  socklen_t len = sizeof(*sin);
  getsockname(fd, reinterpret_cast<sockaddr*>(sin), &len);
  if (listen_too) {
    EXPECT_EQ(listen(fd, 4), 0);
  }
  return fd;
}

TEST(SmtpConn, ConnectReportsConnectedAndSendsQueuedOutput) {
  EventBasePtr base(event_base_new());
  sockaddr_in sin;
  UniqueFd lst(Listener(&sin, true));
  Recorder r;
  auto c = std::make_unique<SmtpConn>(base.get(), 1024);
  c->SetCallbacks(Recorder::Read, nullptr, Recorder::Event, &r);
  c->SetTimeouts(seconds(5), seconds(5));
  ASSERT_TRUE(c->Connect(reinterpret_cast<sockaddr*>(&sin), sizeof(sin)));
  c->Write("EHLO me\r\n");  // waits for the connect
  bool connected = false;
  for (int i = 0; i < 200 && !connected; ++i) {
    RunUntil(base.get(), connected, 10);
    connected = (r.events & BEV_EVENT_CONNECTED) != 0;
  }
  ASSERT_TRUE(connected);
  c->Enable(EV_READ | EV_WRITE);
  UniqueFd peer(accept(lst.get(), nullptr, nullptr));
  ASSERT_TRUE(peer);
  bool never = false;
  RunUntil(base.get(), never, 50);
  char buf[32];
  EXPECT_EQ(recv(peer.get(), buf, sizeof(buf), MSG_DONTWAIT), 9);
}

TEST(SmtpConn, RefusedConnectIsAnErrorEvent) {
  EventBasePtr base(event_base_new());
  sockaddr_in sin;
  UniqueFd closed(Listener(&sin, false));  // bound, not listening: refused
  Recorder r;
  auto c = std::make_unique<SmtpConn>(base.get(), 1024);
  c->SetCallbacks(Recorder::Read, nullptr, Recorder::Event, &r);
  c->SetTimeouts(seconds(5), seconds(5));
  ASSERT_TRUE(c->Connect(reinterpret_cast<sockaddr*>(&sin), sizeof(sin)));
  EXPECT_EQ(r.events, 0);  // never from inside Connect()
  bool failed = false;
  for (int i = 0; i < 200 && !failed; ++i) {
    RunUntil(base.get(), failed, 10);
    failed = r.events != 0;
  }
  EXPECT_EQ(r.events, BEV_EVENT_ERROR);
  EXPECT_EQ(r.err, ECONNREFUSED);
}

// A local (AF_UNIX) connect ends inside connect(): success and refusal
// are still reported from the loop.
TEST(SmtpConn, UnixConnectAtOnce) {
  EventBasePtr base(event_base_new());
  std::string path = "/tmp/smtp_conn_test." + std::to_string(getpid());
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
  unlink(path.c_str());
  UniqueFd lst(socket(AF_UNIX, SOCK_STREAM, 0));
  ASSERT_EQ(bind(lst.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)), 0);
  for (bool listening : {false, true}) {
    if (listening) {
      ASSERT_EQ(listen(lst.get(), 4), 0);
    }
    Recorder r;
    auto c = std::make_unique<SmtpConn>(base.get(), 1024);
    c->SetCallbacks(Recorder::Read, nullptr, Recorder::Event, &r);
    ASSERT_TRUE(c->Connect(reinterpret_cast<sockaddr*>(&sun), sizeof(sun)));
    EXPECT_EQ(r.events, 0);
    bool seen = false;
    for (int i = 0; i < 200 && !seen; ++i) {
      RunUntil(base.get(), seen, 10);
      seen = r.events != 0;
    }
    EXPECT_EQ(r.events, listening ? BEV_EVENT_CONNECTED : BEV_EVENT_ERROR) << listening;
    if (!listening) {
      EXPECT_EQ(r.err, ECONNREFUSED);
    }
  }
  unlink(path.c_str());
}

}  // namespace
}  // namespace pftls::front
