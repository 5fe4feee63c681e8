// Tests for mgr/service: every request and limit of spec §5.2, the factory
// (clamping, disabled caches, the same-file error), statistics, cleanup
// timers, and a round trip through the real ipc server and SyncClient.
#include "mgr/service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "ipc/client_sync.h"
#include "ipc/msg_announce.h"
#include "ipc/unix_socket.h"
#include "t/unit/mgr/test_util.h"

namespace pftls::mgr {
namespace {

using testing::LogCapture;
using testing::TempDir;

SecretBytes Sb(const std::string& s) { return SecretBytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
std::string Str(const SecretBytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

struct Fixture {
  TempDir dir;
  int64_t now = 1000000;
  std::unique_ptr<TlsmgrServiceImpl> svc;

  explicit Fixture(const std::string& extra = "", bool expect_ok = true) {
    std::string text = "data_directory = " + dir.path() +
                       "\n"
                       "smtpd_tls_session_cache_database = btree:$data_directory/smtpd_scache\n"
                       "smtp_tls_session_cache_database = " +
                       dir.path() +
                       "/smtp.sqlite\n"
                       "tls_random_source = dev:/dev/urandom\n" +
                       extra;
    Result<config::Config> cfg = config::Config::FromString(text);
    EXPECT_TRUE(cfg) << cfg.error();
    Result<std::unique_ptr<TlsmgrServiceImpl>> s = BuildTlsmgrService(*cfg, [this]() { return now; });
    EXPECT_EQ(static_cast<bool>(s), expect_ok) << s.error();
    if (s) svc = std::move(*s);
    error = s ? "" : s.error();
  }
  std::string error;
};

TEST(TlsmgrService, SeedLimits) {
  Fixture f;
  for (uint32_t n : {1u, 32u, 255u}) {
    ipc::SeedReply r = f.svc->Seed({n});
    EXPECT_EQ(r.status, ipc::kStatOk);
    EXPECT_EQ(r.seed.size(), n);
  }
  LogCapture cap;
  for (uint32_t n : {0u, 256u, 100000u}) {
    ipc::SeedReply r = f.svc->Seed({n});
    EXPECT_EQ(r.status, ipc::kStatFail);
    EXPECT_TRUE(r.seed.empty());
  }
  EXPECT_TRUE(cap.Has("bogus seed length \"256\" in \"seed\" request"));
  EXPECT_FALSE(f.svc->Seed({32}).seed.Equal(f.svc->Seed({32}).seed));
}

TEST(TlsmgrService, PolicyPerCacheType) {
  Fixture f("lmtp_tls_session_cache_timeout = 30\n");
  ipc::PolicyReply p = f.svc->Policy({"smtpd"});
  EXPECT_EQ(p.status, ipc::kStatOk);
  EXPECT_EQ(p.cachable, 1u);
  EXPECT_EQ(p.timeout, 3600u);
  // lmtp: no database, but the sanitised timeout is still reported.
  p = f.svc->Policy({"lmtp"});
  EXPECT_EQ(p.status, ipc::kStatOk);
  EXPECT_EQ(p.cachable, 0u);
  EXPECT_EQ(p.timeout, 120u);
  LogCapture cap;
  p = f.svc->Policy({"bogus"});
  EXPECT_EQ(p.status, ipc::kStatFail);
  EXPECT_EQ(p.cachable, 0u);
  EXPECT_EQ(p.timeout, 0u);
  EXPECT_EQ(cap.Count(log::Level::kWarning, "bogus"), 1u);
}

TEST(TlsmgrService, TimeoutClamping) {
  Fixture f("smtpd_tls_session_cache_timeout = 0\nsmtp_tls_session_cache_timeout = 1\n"
            "lmtp_tls_session_cache_timeout = 100d\n");
  EXPECT_EQ(f.svc->Policy({"smtpd"}).timeout, 0u);
  EXPECT_EQ(f.svc->Policy({"smtpd"}).cachable, 0u);  // disabled despite the database
  EXPECT_EQ(f.svc->cache("smtpd"), nullptr);
  EXPECT_EQ(f.svc->Policy({"smtp"}).timeout, 120u);
  EXPECT_EQ(f.svc->Policy({"smtp"}).cachable, 1u);
  EXPECT_EQ(f.svc->Policy({"lmtp"}).timeout, 8640000u);
  // smtpd timeout 0: no tickets either.
  EXPECT_EQ(f.svc->Tktkey({""}).status, ipc::kStatErr);
}

TEST(TlsmgrService, LookupUpdateDelete) {
  Fixture f;
  ipc::LookupReply l = f.svc->Lookup({"smtpd", "ID1"});
  EXPECT_EQ(l.status, ipc::kStatErr);
  EXPECT_EQ(f.svc->Update({"smtpd", "ID1", Sb("blob1")}).status, ipc::kStatOk);
  l = f.svc->Lookup({"smtpd", "ID1"});
  ASSERT_EQ(l.status, ipc::kStatOk);
  EXPECT_EQ(Str(l.session), "blob1");
  // Types are separate caches.
  EXPECT_EQ(f.svc->Lookup({"smtp", "ID1"}).status, ipc::kStatErr);
  EXPECT_EQ(f.svc->Delete({"smtpd", "ID1"}).status, ipc::kStatOk);
  EXPECT_EQ(f.svc->Delete({"smtpd", "ID1"}).status, ipc::kStatErr);
  // Disabled cache (lmtp has no database): -2 for all three.
  EXPECT_EQ(f.svc->Lookup({"lmtp", "ID1"}).status, ipc::kStatFail);
  EXPECT_EQ(f.svc->Update({"lmtp", "ID1", Sb("x")}).status, ipc::kStatFail);
  EXPECT_EQ(f.svc->Delete({"lmtp", "ID1"}).status, ipc::kStatFail);
  // Unknown type: -2 and a warning.
  LogCapture cap;
  EXPECT_EQ(f.svc->Lookup({"nope", "ID1"}).status, ipc::kStatFail);
  EXPECT_EQ(f.svc->Update({"nope", "ID1", Sb("x")}).status, ipc::kStatFail);
  EXPECT_EQ(f.svc->Delete({"nope", "ID1"}).status, ipc::kStatFail);
  EXPECT_EQ(cap.Count(log::Level::kWarning, "bogus cache type \"nope\""), 3u);
}

TEST(TlsmgrService, ExpiryUsesInjectedClock) {
  Fixture f;
  ASSERT_EQ(f.svc->Update({"smtpd", "ID", Sb("v")}).status, ipc::kStatOk);
  f.now += 3600;
  EXPECT_EQ(f.svc->Lookup({"smtpd", "ID"}).status, ipc::kStatOk);
  f.now += 1;
  EXPECT_EQ(f.svc->Lookup({"smtpd", "ID"}).status, ipc::kStatErr);
  EXPECT_EQ(f.svc->cache("smtpd")->entries(), 0);
}

TEST(TlsmgrService, CleanupStepAcrossCaches) {
  Fixture f;
  for (int i = 0; i < 10; i++) {
    ASSERT_EQ(f.svc->Update({"smtpd", "d" + std::to_string(i), Sb("v")}).status, ipc::kStatOk);
    ASSERT_EQ(f.svc->Update({"smtp", "c" + std::to_string(i), Sb("v")}).status, ipc::kStatOk);
  }
  f.now += 4000;
  EXPECT_EQ(f.svc->CleanupStep(4), 8u);
  EXPECT_EQ(f.svc->CleanupStep(100), 12u);
  EXPECT_EQ(f.svc->CleanupStep(100), 0u);
}

TEST(TlsmgrService, SizeCapFromConfig) {
  Fixture f("pftls_session_cache_max_entries = 5\n");
  for (int i = 0; i < 8; i++) {
    f.now++;
    ASSERT_EQ(f.svc->Update({"smtpd", "id" + std::to_string(i), Sb("v")}).status, ipc::kStatOk);
  }
  EXPECT_EQ(f.svc->cache("smtpd")->entries(), 5);
  EXPECT_EQ(f.svc->Lookup({"smtpd", "id2"}).status, ipc::kStatErr);
  EXPECT_EQ(f.svc->Lookup({"smtpd", "id3"}).status, ipc::kStatOk);
}

TEST(TlsmgrService, UnlimitedCapFromConfig) {
  Fixture f("pftls_session_cache_max_entries = 0\n");
  for (int i = 0; i < 20; i++) ASSERT_EQ(f.svc->Update({"smtpd", "id" + std::to_string(i), Sb("v")}).status, 0);
  EXPECT_EQ(f.svc->cache("smtpd")->entries(), 20);
}

TEST(TlsmgrService, Tktkey) {
  Fixture f;
  ipc::TktkeyReply r = f.svc->Tktkey({""});
  ASSERT_EQ(r.status, ipc::kStatOk);
  ASSERT_EQ(r.keybuf.size(), 88u);
  Result<ipc::TicketKey> k = ipc::TicketKey::Parse(r.keybuf.span());
  ASSERT_TRUE(k);
  EXPECT_EQ(k->tout, f.now + 1799);
  std::string name(reinterpret_cast<const char*>(k->name.data()), 16);
  EXPECT_EQ(f.svc->Tktkey({name}).status, ipc::kStatOk);
  ipc::TktkeyReply nf = f.svc->Tktkey({std::string(16, 'z')});
  EXPECT_EQ(nf.status, ipc::kStatErr);
  EXPECT_EQ(Str(nf.keybuf), std::string(16, 'z'));
  LogCapture cap;
  EXPECT_EQ(f.svc->Tktkey({"short"}).status, ipc::kStatFail);
  EXPECT_TRUE(cap.Has("invalid session ticket key name length: 5"));
}

TEST(TlsmgrService, SameFileForTwoTypesIsAnError) {
  TempDir d;
  Result<config::Config> cfg = config::Config::FromString(
      "smtpd_tls_session_cache_database = btree:" + d.path() + "/x\n" +
      "lmtp_tls_session_cache_database = " + d.path() + "/x.sqlite\n");
  ASSERT_TRUE(cfg);
  LogCapture cap;
  Result<std::unique_ptr<TlsmgrServiceImpl>> s = BuildTlsmgrService(*cfg);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), "do not use the same TLS cache file " + d.path() + "/x.sqlite for smtpd and lmtp");
}

TEST(TlsmgrService, BadMaxEntriesIsAnError) {
  Fixture f("pftls_session_cache_max_entries = -3\n", false);
  EXPECT_NE(f.error.find("pftls_session_cache_max_entries"), std::string::npos);
}

TEST(TlsmgrService, StatisticsLines) {
  Fixture f;
  LogCapture cap;
  f.svc->LogStatistics();
  EXPECT_TRUE(cap.lines().empty());  // nothing happened yet
  (void)f.svc->Seed({32});
  (void)f.svc->Update({"smtpd", "a", Sb("v")});
  (void)f.svc->Lookup({"smtpd", "a"});
  (void)f.svc->Lookup({"smtpd", "b"});
  (void)f.svc->Tktkey({""});
  f.svc->LogStatistics();
  EXPECT_TRUE(cap.Has("statistics: requests seed=1 policy=0 lookup=2 update=1 delete=0 tktkey=1"));
  EXPECT_TRUE(cap.Has("statistics: smtpd cache hits=1 miss=1 updates=1 deletes=0 expired=0 evictions=0 entries=1"));
  EXPECT_TRUE(cap.Has("statistics: smtp cache hits=0 miss=0"));
  EXPECT_TRUE(cap.Has("statistics: ticket keys issued=1 served=1 not_found=0"));
  EXPECT_FALSE(cap.Has("lmtp cache"));
}

TEST(TlsmgrService, CacheLoglevelLogsOperationsWithoutSessionBytes) {
  Fixture f("smtpd_tls_loglevel = 2\n");
  LogCapture cap;
  (void)f.svc->Update({"smtpd", "ID9", Sb("SECRETSESSION")});
  (void)f.svc->Lookup({"smtpd", "ID9"});
  EXPECT_TRUE(cap.Has("smtpd cache lookup id=ID9: found"));
  for (const auto& [l, t] : cap.lines()) EXPECT_EQ(t.find("SECRETSESSION"), std::string::npos);
}

TEST(TlsmgrService, ArmedCleanupRemovesExpiredEntriesFromTheLoop) {
  Fixture f("smtpd_tls_session_cache_timeout = 120\n");
  for (int i = 0; i < 600; i++) ASSERT_EQ(f.svc->Update({"smtpd", "id" + std::to_string(i), Sb("v")}).status, 0);
  f.now += 500;
  EventBasePtr base(event_base_new());
  ASSERT_TRUE(f.svc->Arm(base.get()));
  // The first pass runs at once and continues in batches on later turns.
  for (int i = 0; i < 10; i++) event_base_loop(base.get(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
  EXPECT_EQ(f.svc->cache("smtpd")->entries(), 0);
  f.svc->Shutdown();
}

TEST(TlsmgrService, ArmedUpdatesAreCommittedByTheCommitTimer) {
  Fixture f;
  EventBasePtr base(event_base_new());
  ASSERT_TRUE(f.svc->Arm(base.get()));
  CacheStore* st = f.svc->cache("smtpd");
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(f.svc->Update({"smtpd", "a", Sb("v")}).status, 0);
  ASSERT_EQ(f.svc->Update({"smtp", "b", Sb("v")}).status, 0);
  EXPECT_EQ(st->batched(), 1u);
  EXPECT_EQ(f.svc->cache("smtp")->batched(), 1u);
  event_base_loop(base.get(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
  if (std::chrono::steady_clock::now() - t0 < std::chrono::microseconds(TlsmgrServiceImpl::kCommitDelayUs)) {
    EXPECT_EQ(st->batched(), 1u);  // the timer has not expired yet (unless this host stalled)
  }
  ::usleep(TlsmgrServiceImpl::kCommitDelayUs + 5000);
  event_base_loop(base.get(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
  EXPECT_EQ(st->batched(), 0u);
  EXPECT_EQ(f.svc->cache("smtp")->batched(), 0u);
  // A full batch is committed after the loop pass, before the timer.
  for (size_t i = 0; i < TlsmgrServiceImpl::kCommitBatch; i++)
    ASSERT_EQ(f.svc->Update({"smtpd", "id" + std::to_string(i), Sb("v")}).status, 0);
  EXPECT_EQ(st->batched(), TlsmgrServiceImpl::kCommitBatch);
  event_base_loop(base.get(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
  EXPECT_EQ(st->batched(), 0u);
  // Shutdown commits what is open.
  ASSERT_EQ(f.svc->Update({"smtpd", "last", Sb("v")}).status, 0);
  EXPECT_EQ(st->batched(), 1u);
  f.svc->Shutdown();
  EXPECT_EQ(st->batched(), 0u);
  EXPECT_EQ(st->entries(), static_cast<int64_t>(TlsmgrServiceImpl::kCommitBatch) + 2);
}

TEST(TlsmgrService, EnteredJailRewritesPaths) {
  Fixture f;
  std::string before = f.svc->cache("smtpd")->path();
  f.svc->EnteredJail(f.dir.path());
  EXPECT_EQ(f.svc->cache("smtpd")->path(), "/smtpd_scache.sqlite");
  EXPECT_NE(before, f.svc->cache("smtpd")->path());
}

// End to end over the ipc layer: routes, announcement, attr0, SyncClient.
TEST(TlsmgrService, ServesRealClientsOverIpc) {
  Fixture f;
  std::string sock = f.dir / "tlsmgr";
  Result<UniqueFd> lfd = ipc::ListenUnix(sock, 0600);
  ASSERT_TRUE(lfd) << lfd.error();
  EventBasePtr base(event_base_new());
  ipc::Server srv(base.get(), std::move(*lfd), ipc::TlsmgrServerOptions(), ipc::TlsmgrRoutes(*f.svc));
  ASSERT_TRUE(srv.Start());
  std::atomic<bool> done{false};
  std::thread client([&]() {
    ipc::SyncClientOptions o;
    o.path = sock;
    o.protocol = std::string(ipc::kTlsmgrProtocol);
    ipc::SyncClient c(o);
    auto seed = c.Request(ipc::SeedRequest{32});
    EXPECT_TRUE(seed && seed->status == 0 && seed->seed.size() == 32);
    auto up = c.Request(ipc::UpdateRequest{"smtpd", "K", Sb("session-bytes")});
    EXPECT_TRUE(up && up->status == 0);
    auto lk = c.Request(ipc::LookupRequest{"smtpd", "K"});
    EXPECT_TRUE(lk && lk->status == 0 && Str(lk->session) == "session-bytes");
    auto tk = c.Request(ipc::TktkeyRequest{""});
    EXPECT_TRUE(tk && tk->status == 0 && tk->keybuf.size() == 88);
    auto bad = c.Request(ipc::SeedRequest{0});
    EXPECT_TRUE(bad && bad->status == ipc::kStatFail);
    done = true;
  });
  for (int i = 0; i < 500 && !done; i++) {
    timeval tv{0, 10000};
    event_base_loopexit(base.get(), &tv);
    event_base_dispatch(base.get());
  }
  client.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(f.svc->counters().lookup, 1u);
}

}  // namespace
}  // namespace pftls::mgr
