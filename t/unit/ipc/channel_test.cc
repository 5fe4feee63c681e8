// Tests for ipc/server.h, ipc/tlsmgr_routes.h, ipc/client_sync.h and
// ipc/client_async.h over UNIX sockets in a temp dir.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "ipc/client_async.h"
#include "ipc/client_sync.h"
#include "ipc/fdpass.h"
#include "ipc/msg_announce.h"
#include "ipc/msg_tlsproxy.h"
#include "ipc/tlsmgr_routes.h"
#include "ipc/unix_socket.h"
#include "util/log.h"

namespace pftls::ipc {
namespace {

#define B(s) std::string(s, sizeof(s) - 1)
using namespace std::chrono_literals;

// FakeMgr - an in-memory TlsmgrService.
class FakeMgr : public TlsmgrService {
 public:
  SeedReply Seed(const SeedRequest& r) override { return {kStatOk, SecretBytes(r.size)}; }
  PolicyReply Policy(const PolicyRequest&) override { return {kStatOk, 1, 3600}; }
  LookupReply Lookup(const LookupRequest& r) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cache_.find(r.cache_id);
    if (it == cache_.end()) return {kStatErr, {}};
    return {kStatOk, SecretBytes(reinterpret_cast<const uint8_t*>(it->second.data()), it->second.size())};
  }
  StatusReply Update(const UpdateRequest& r) override {
    std::lock_guard<std::mutex> l(mu_);
    cache_[r.cache_id] = std::string(reinterpret_cast<const char*>(r.session.data()), r.session.size());
    return {kStatOk};
  }
  StatusReply Delete(const DeleteRequest& r) override {
    std::lock_guard<std::mutex> l(mu_);
    cache_.erase(r.cache_id);
    return {kStatOk};
  }
  TktkeyReply Tktkey(const TktkeyRequest&) override { return {kStatOk, TicketKey().Serialize()}; }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> cache_;
};

// LoopThread - a Server on its own event loop thread.
class LoopThread {
 public:
  LoopThread(const std::string& path, ServerOptions o, std::vector<Route> routes) : base_(event_base_new()) {
    Result<UniqueFd> fd = ListenUnix(path);
    EXPECT_TRUE(fd) << fd.error();
    server_ = std::make_unique<Server>(base_.get(), std::move(*fd), std::move(o), std::move(routes));
    Status s = server_->Start();
    EXPECT_TRUE(s) << s.error();
    tick_.reset(event_new(base_.get(), -1, EV_PERSIST, [](evutil_socket_t, short, void*) {}, nullptr));
    timeval tv{0, 20000};
    evtimer_add(tick_.get(), &tv);
    thread_ = std::thread([this] {
      while (!stop_) event_base_loop(base_.get(), EVLOOP_ONCE);
    });
  }
  ~LoopThread() {
    stop_ = true;
    thread_.join();
    server_.reset();
  }
  size_t connections() {
    return server_->connections();  // racy read of a size; tests poll it
  }

 private:
  EventBasePtr base_;
  EventPtr tick_;
  std::unique_ptr<Server> server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class Channel : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pftls-ipc-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/tlsmgr";
    log::SetCaptureForTest([this](log::Level lvl, std::string_view text) {
      std::lock_guard<std::mutex> l(mu_);
      if (lvl == log::Level::kWarning) warnings_.emplace_back(text);
    });
  }
  void TearDown() override {
    log::SetCaptureForTest(nullptr);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::vector<std::string> Warnings() {
    std::lock_guard<std::mutex> l(mu_);
    return warnings_;
  }
  // Raw - a blocking raw client that has read the announcement.
  UniqueFd Raw(bool read_hello = true) {
    bool in_progress;
    Result<UniqueFd> fd = ConnectUnix(path_, &in_progress);
    EXPECT_TRUE(fd);
    SetNonBlocking(fd->get(), false);
    if (read_hello) {
      EXPECT_EQ(ReadSome(fd->get()), B("protocol\0tlsmgr_protocol\0\0"));
    }
    return std::move(*fd);
  }
  // ReadSome - what arrives within 2 s; "" on EOF or timeout.
  static std::string ReadSome(int fd, std::chrono::milliseconds wait = 2000ms) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return "<timeout>";
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    return n > 0 ? std::string(buf, n) : std::string();
  }
  ServerOptions MgrOptions() {
    ServerOptions o = TlsmgrServerOptions();
    o.read_timeout = 300ms;
    o.idle_timeout = 2000ms;
    return o;
  }

  std::string dir_, path_;
  std::mutex mu_;
  std::vector<std::string> warnings_;
  FakeMgr mgr_;
};

TEST_F(Channel, SyncClientManyRequestsOneConnection) {
  LoopThread loop(path_, MgrOptions(), TlsmgrRoutes(mgr_));
  SyncClient c({path_, std::string(kTlsmgrProtocol)});
  for (uint32_t i = 1; i <= 20; ++i) {
    Result<SeedReply> r = c.Request(SeedRequest{i});
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->seed.size(), i);
  }
  SecretBytes blob(100);
  ASSERT_EQ(c.Request(UpdateRequest{"smtpd", "id", blob.Clone()})->status, kStatOk);
  Result<LookupReply> l = c.Request(LookupRequest{"smtpd", "id"});
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->session.Equal(blob));
  EXPECT_EQ(c.Request(DeleteRequest{"smtpd", "id"})->status, kStatOk);
  EXPECT_EQ(c.Request(LookupRequest{"smtpd", "id"})->status, kStatErr);
  EXPECT_EQ(c.Request(TktkeyRequest{""})->keybuf.size(), 88u);
  // A semantically bad request gets -2, and the connection stays usable.
  Result<SeedReply> bogus = c.Request(SeedRequest{0});
  ASSERT_TRUE(bogus);
  EXPECT_EQ(bogus->status, kStatFail);
  EXPECT_EQ(c.Request(PolicyRequest{"smtpd"})->timeout, 3600u);
  EXPECT_EQ(loop.connections(), 1u);
  ASSERT_EQ(Warnings().size(), 1u);
  EXPECT_NE(Warnings()[0].find("bogus seed length \"0\""), std::string::npos) << Warnings()[0];
}

TEST_F(Channel, UnknownRequestGetsFailThenClose) {
  LoopThread loop(path_, MgrOptions(), TlsmgrRoutes(mgr_));
  UniqueFd s = Raw();
  std::string req = B("request\0bogus\0\0");
  ASSERT_EQ(write(s.get(), req.data(), req.size()), static_cast<ssize_t>(req.size()));
  EXPECT_EQ(ReadSome(s.get()), B("status\0" "4294967294\0\0"));
  EXPECT_EQ(ReadSome(s.get()), "");  // closed
  EXPECT_EQ(Warnings().size(), 1u);
}

TEST_F(Channel, MalformedRecordDropsPeerWithOneWarning) {
  LoopThread loop(path_, MgrOptions(), TlsmgrRoutes(mgr_));
  UniqueFd s = Raw();
  std::string junk(kMaxNameLen + 10, 'x');
  ASSERT_EQ(write(s.get(), junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  EXPECT_EQ(ReadSome(s.get()), "");
  auto w = Warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("dropping connection"), std::string::npos);
  // a record without "request" first
  UniqueFd s2 = Raw();
  std::string wrong = B("size\0" "32\0request\0seed\0\0");
  ASSERT_EQ(write(s2.get(), wrong.data(), wrong.size()), static_cast<ssize_t>(wrong.size()));
  EXPECT_EQ(ReadSome(s2.get()), "");
  EXPECT_EQ(Warnings().size(), 2u);
}

TEST_F(Channel, RecordInPiecesAndManyClients) {
  LoopThread loop(path_, MgrOptions(), TlsmgrRoutes(mgr_));
  std::vector<UniqueFd> socks;
  for (int i = 0; i < 20; ++i) socks.push_back(Raw());
  std::string req = B("request\0seed\0size\0" "16\0\0");
  for (size_t off = 0; off < req.size(); off += 3)
    for (auto& s : socks) ASSERT_GT(write(s.get(), req.data() + off, std::min<size_t>(3, req.size() - off)), 0);
  for (auto& s : socks) {
    std::string rep = ReadSome(s.get());
    Result<Record> rec = ParseRecord(rep);
    ASSERT_TRUE(rec) << rec.error();
    EXPECT_EQ(SeedReply::Decode(*rec)->seed.size(), 16u);
  }
  EXPECT_TRUE(Warnings().empty());
}

TEST_F(Channel, MasterWakeupClosesQuietly) {
  LoopThread loop(path_, MgrOptions(), TlsmgrRoutes(mgr_));
  UniqueFd s = Raw();
  ASSERT_EQ(write(s.get(), "W", 1), 1);
  EXPECT_EQ(ReadSome(s.get()), "");
  EXPECT_TRUE(Warnings().empty());
}

TEST_F(Channel, ReadDeadlineAndIdleClose) {
  ServerOptions o = MgrOptions();
  o.idle_timeout = 300ms;
  LoopThread loop(path_, o, TlsmgrRoutes(mgr_));
  UniqueFd partial = Raw();
  std::string head = B("request\0se");
  ASSERT_EQ(write(partial.get(), head.data(), head.size()), static_cast<ssize_t>(head.size()));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(ReadSome(partial.get()), "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  UniqueFd idle = Raw();
  EXPECT_EQ(ReadSome(idle.get()), "");
  auto w = Warnings();
  ASSERT_EQ(w.size(), 1u);  // the deadline is a violation; idling is not
  EXPECT_NE(w[0].find("timeout reading request"), std::string::npos);
}

TEST_F(Channel, SyncClientReconnectsAfterServerClose) {
  ServerOptions o = MgrOptions();
  o.idle_timeout = 200ms;
  LoopThread loop(path_, o, TlsmgrRoutes(mgr_));
  SyncClient c({path_, std::string(kTlsmgrProtocol)});
  ASSERT_TRUE(c.Request(SeedRequest{8}));
  std::this_thread::sleep_for(500ms);  // server closed the idle connection
  Result<SeedReply> r = c.Request(SeedRequest{8});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->seed.size(), 8u);
}

TEST_F(Channel, SyncClientWrongProtocolAndDeadline) {
  ServerOptions o = MgrOptions();
  o.protocol = "tlsproxy_protocol";
  std::vector<Route> silent = {{"seed", [](Connection&, const Record&) { return Next::kContinue; }}};
  LoopThread loop(path_, o, std::move(silent));
  SyncClient wrong({path_, std::string(kTlsmgrProtocol)});
  Result<SeedReply> r = wrong.Request(SeedRequest{8});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("unexpected protocol"), std::string::npos) << r.error();
  SyncClientOptions so{path_, "tlsproxy_protocol"};
  so.timeout = 300ms;
  SyncClient slow(so);
  auto t0 = std::chrono::steady_clock::now();
  Result<SeedReply> t = slow.Request(SeedRequest{8});
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().find("timeout"), std::string::npos) << t.error();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
}

TEST_F(Channel, SyncClientNoServer) {
  SyncClientOptions so{path_, std::string(kTlsmgrProtocol)};
  so.timeout = 500ms;
  SyncClient c(so);
  Result<Record> r = c.Call(*SeedRequest{1}.Encode());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("connect"), std::string::npos) << r.error();
}

// A tlsproxy-shaped route: request, status, then hand the socket off and
// receive the client's descriptor on it.
TEST_F(Channel, HandOffThenReceiveDescriptor) {
  ServerOptions o;
  o.service = "tlsproxy";
  o.protocol = std::string(kTlsproxyProtocol);
  o.read_timeout = 2000ms;
  std::atomic<int> received{-1};
  std::atomic<bool> done{false};
  std::vector<Route> routes = {{"", [&](Connection& c, const Record& rec) {
    Result<TlsproxyRequest> req = TlsproxyRequest::Decode(rec);
    if (!req || !req->Validate()) return Next::kClose;
    c.Send(*TlsproxyStatus{1}.Encode());
    c.HandOff([&](UniqueFd sock, std::string unread) {
      EXPECT_TRUE(unread.empty());
      SetNonBlocking(sock.get(), false);
      Result<std::optional<UniqueFd>> fd = RecvFd(sock.get());
      if (fd && *fd) {
        char x = 0;
        received = read((*fd)->get(), &x, 1) == 1 ? x : -2;
      }
      done = true;
    });
    return Next::kContinue;
  }}};
  LoopThread loop(path_, o, std::move(routes));
  bool in_progress;
  UniqueFd s = ConnectUnix(path_, &in_progress).value();
  SetNonBlocking(s.get(), false);
  EXPECT_EQ(ReadSome(s.get()), B("protocol\0tlsproxy_protocol\0\0"));
  std::string req = *TlsproxyRequest{"[192.0.2.1]:1", 1, 300, 300, "smtpd", {}}.Encode();
  ASSERT_EQ(write(s.get(), req.data(), req.size()), static_cast<ssize_t>(req.size()));
  EXPECT_EQ(ReadSome(s.get()), B("status\0" "1\0\0"));
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  UniqueFd pr(p[0]), pw(p[1]);
  ASSERT_EQ(write(pw.get(), "Z", 1), 1);
  ASSERT_TRUE(SendFd(s.get(), pr.get()));
  for (int i = 0; i < 200 && !done; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(received.load(), 'Z');
  EXPECT_EQ(loop.connections(), 0u);
}

// AsyncClient and Server on one event loop.
class AsyncChannel : public Channel {};

TEST_F(AsyncChannel, RequestsInOrderTimeoutAndReconnect) {
  EventBasePtr base(event_base_new());
  ServerOptions o = MgrOptions();
  o.idle_timeout = 200ms;
  std::atomic<bool> hang{false};
  std::vector<Route> routes = TlsmgrRoutes(mgr_);
  Handler seed = routes[0].handler;
  routes[0].handler = [&, seed](Connection& c, const Record& r) {
    return hang ? Next::kContinue : seed(c, r);
  };
  Server srv(base.get(), ListenUnix(path_).value(), o, std::move(routes));
  ASSERT_TRUE(srv.Start());
  AsyncClientOptions co{path_, std::string(kTlsmgrProtocol)};
  co.timeout = 300ms;
  AsyncClient c(base.get(), co);
  std::vector<uint32_t> sizes;
  for (uint32_t n : {1u, 2u, 3u})
    c.Request(SeedRequest{n}, [&](Result<SeedReply> r) {
      ASSERT_TRUE(r) << r.error();
      sizes.push_back(static_cast<uint32_t>(r->seed.size()));
    });
  auto run_until = [&](auto pred) {
    for (int i = 0; i < 300 && !pred(); ++i) event_base_loop(base.get(), EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(2000);
  };
  run_until([&] { return sizes.size() == 3; });
  EXPECT_EQ(sizes, (std::vector<uint32_t>{1, 2, 3}));
  // Server closes the idle connection; the next request reconnects.
  run_until([&] { return srv.connections() == 0; });
  EXPECT_EQ(srv.connections(), 0u);
  bool got = false;
  c.Request(PolicyRequest{"smtpd"}, [&](Result<PolicyReply> r) {
    EXPECT_TRUE(r) << r.error();
    got = true;
  });
  run_until([&] { return got; });
  EXPECT_TRUE(got);
  // A reply that never comes: the callback gets a timeout.
  hang = true;
  std::string err;
  c.Request(SeedRequest{4}, [&](Result<SeedReply> r) { err = r ? "ok" : r.error(); });
  run_until([&] { return !err.empty(); });
  EXPECT_NE(err.find("timeout"), std::string::npos) << err;
  EXPECT_EQ(c.pending(), 0u);
}

TEST_F(AsyncChannel, WrongProtocolAndNoServer) {
  EventBasePtr base(event_base_new());
  AsyncClientOptions co{path_, std::string(kTlsmgrProtocol)};
  co.timeout = 300ms;
  {
    AsyncClient c(base.get(), co);
    std::string err;
    c.Request(SeedRequest{4}, [&](Result<SeedReply> r) { err = r ? "ok" : r.error(); });
    for (int i = 0; i < 300 && err.empty(); ++i) event_base_loop(base.get(), EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(2000);
    EXPECT_FALSE(err.empty());
    EXPECT_NE(err, "ok");
  }
  ServerOptions o = MgrOptions();
  o.protocol = "other_protocol";
  Server srv(base.get(), ListenUnix(path_).value(), o, TlsmgrRoutes(mgr_));
  ASSERT_TRUE(srv.Start());
  AsyncClient c(base.get(), co);
  std::string err;
  c.Request(SeedRequest{4}, [&](Result<SeedReply> r) { err = r ? "ok" : r.error(); });
  for (int i = 0; i < 300 && err.empty(); ++i) event_base_loop(base.get(), EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(2000);
  EXPECT_NE(err.find("unexpected protocol"), std::string::npos) << err;
}

}  // namespace
}  // namespace pftls::ipc
