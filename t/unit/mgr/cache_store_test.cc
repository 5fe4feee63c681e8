// Tests for mgr/cache_store: mapping, CRUD, expiry, incremental cleanup,
// the size cap, truncation at open, and self-healing at open and at run time.
#include "mgr/cache_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <string>

#include "ipc/msg_tlsmgr.h"
#include "t/unit/mgr/test_util.h"

namespace pftls::mgr {
namespace {

using testing::LogCapture;
using testing::Listing;
using testing::TempDir;
using testing::WriteFile;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string Str(const SecretBytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

std::unique_ptr<CacheStore> MustOpen(const std::string& path, long timeout = 3600, int64_t cap = 0) {
  // check_interval 0: the file is checked before every request.
  Result<std::unique_ptr<CacheStore>> st = CacheStore::Open({"smtpd", path, timeout, cap, std::chrono::milliseconds(0)});
  EXPECT_TRUE(st) << st.error();
  return st ? std::move(*st) : nullptr;
}

// CountRows - rows in the file, read by a second connection after the
// store is closed (the store holds an exclusive lock while open).
int64_t CountRows(std::unique_ptr<CacheStore>& st, const std::string& path) {
  st.reset();
  sqlite3* raw = nullptr;
  sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  SqlitePtr db(raw);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(raw, "SELECT count(*) FROM sessions", -1, &s, nullptr) != SQLITE_OK) return -1;
  SqliteStmtPtr stmt(s);
  if (sqlite3_step(s) != SQLITE_ROW) return -1;
  return sqlite3_column_int64(s, 0);
}

size_t CountCorrupt(const std::string& dir) {
  size_t n = 0;
  for (const std::string& f : Listing(dir))
    if (f.find(".corrupt-") != std::string::npos) n++;
  return n;
}

TEST(MapCacheDatabase, MapsPostfixMapTypesWithOneWarning) {
  LogCapture cap;
  Result<std::string> f = MapCacheDatabase("btree:/var/lib/postfix/smtpd_scache");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, "/var/lib/postfix/smtpd_scache.sqlite");
  EXPECT_EQ(cap.Count(log::Level::kWarning), 1u);
  EXPECT_EQ(*MapCacheDatabase("lmdb:/x/y"), "/x/y.sqlite");
  EXPECT_EQ(*MapCacheDatabase("hash:/x/y"), "/x/y.sqlite");
  EXPECT_EQ(cap.Count(log::Level::kWarning), 3u);
  cap.Clear();
  EXPECT_EQ(*MapCacheDatabase("/x/plain"), "/x/plain");
  EXPECT_EQ(*MapCacheDatabase("sqlite:/x/s.db"), "/x/s.db");
  EXPECT_EQ(cap.Count(log::Level::kWarning), 0u);
  EXPECT_FALSE(MapCacheDatabase("dbm:/x/y"));
  EXPECT_FALSE(MapCacheDatabase("relative/path"));
  EXPECT_FALSE(MapCacheDatabase("btree:relative"));
  EXPECT_FALSE(MapCacheDatabase(""));
}

TEST(CacheStore, UpdateLookupDeleteAndOverwrite) {
  TempDir d;
  auto st = MustOpen(d / "c.sqlite");
  ASSERT_TRUE(st);
  SecretBytes out;
  EXPECT_EQ(st->Lookup("id1", 1000, &out), CacheStore::Found::kNotFound);
  EXPECT_EQ(st->Update("id1", Bytes(std::string("\x00\x01val", 5)), 1000), ipc::kStatOk);
  ASSERT_EQ(st->Lookup("id1", 1000, &out), CacheStore::Found::kFound);
  EXPECT_EQ(Str(out), std::string("\x00\x01val", 5));  // opaque, binary-safe
  EXPECT_EQ(st->Update("id1", Bytes("second"), 1001), ipc::kStatOk);  // overwrite
  ASSERT_EQ(st->Lookup("id1", 1001, &out), CacheStore::Found::kFound);
  EXPECT_EQ(Str(out), "second");
  EXPECT_EQ(st->entries(), 1);
  EXPECT_EQ(st->Delete("id1"), ipc::kStatOk);
  EXPECT_EQ(st->Delete("id1"), ipc::kStatErr);
  EXPECT_EQ(st->Lookup("id1", 1001, &out), CacheStore::Found::kNotFound);
  EXPECT_EQ(st->entries(), 0);
  EXPECT_EQ(st->stats().hits, 2u);
  EXPECT_EQ(st->stats().misses, 2u);
  EXPECT_EQ(st->stats().updates, 2u);
  EXPECT_EQ(st->stats().deletes, 1u);
}

TEST(CacheStore, HostileIdsAreJustData) {
  TempDir d;
  auto st = MustOpen(d / "c.sqlite");
  std::string id = "x'); DROP TABLE sessions; --";
  EXPECT_EQ(st->Update(id, Bytes("v"), 10), ipc::kStatOk);
  SecretBytes out;
  EXPECT_EQ(st->Lookup(id, 10, &out), CacheStore::Found::kFound);
  EXPECT_EQ(CountRows(st, d / "c.sqlite"), 1);
}

TEST(CacheStore, FileIsMode0600AndMarkedAsOurs) {
  TempDir d;
  auto st = MustOpen(d / "c.sqlite");
  struct stat sb;
  ASSERT_EQ(::stat((d / "c.sqlite").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
}

TEST(CacheStore, ExpiryBoundaryAndLookupDeletesExpired) {
  TempDir d;
  auto st = MustOpen(d / "c.sqlite", 120);
  ASSERT_EQ(st->Update("a", Bytes("v"), 1000), ipc::kStatOk);
  SecretBytes out;
  // saved + timeout < now is expired: 1120 is still valid, 1121 is not.
  EXPECT_EQ(st->Lookup("a", 1120, &out), CacheStore::Found::kFound);
  EXPECT_EQ(st->Lookup("a", 1121, &out), CacheStore::Found::kNotFound);
  EXPECT_EQ(st->stats().expired, 1u);
  EXPECT_EQ(st->entries(), 0);
  EXPECT_EQ(CountRows(st, d / "c.sqlite"), 0);
}

TEST(CacheStore, CleanupStepIsBoundedAndOnlyRemovesExpired) {
  TempDir d;
  auto st = MustOpen(d / "c.sqlite", 120);
  for (int i = 0; i < 25; i++) ASSERT_EQ(st->Update("old" + std::to_string(i), Bytes("v"), 1000), ipc::kStatOk);
  for (int i = 0; i < 5; i++) ASSERT_EQ(st->Update("new" + std::to_string(i), Bytes("v"), 2000), ipc::kStatOk);
  EXPECT_EQ(st->CleanupStep(2000, 10), 10u);
  EXPECT_EQ(st->CleanupStep(2000, 10), 10u);
  EXPECT_EQ(st->CleanupStep(2000, 10), 5u);
  EXPECT_EQ(st->CleanupStep(2000, 10), 0u);
  EXPECT_EQ(st->entries(), 5);
  EXPECT_EQ(st->stats().expired, 25u);
  SecretBytes out;
  EXPECT_EQ(st->Lookup("new3", 2000, &out), CacheStore::Found::kFound);
  EXPECT_EQ(CountRows(st, d / "c.sqlite"), 5);
}

TEST(CacheStore, SizeCapEvictsOldestFirst) {
  TempDir d;
  const int64_t cap = 50;
  const int extra = 17;
  auto st = MustOpen(d / "c.sqlite", 3600, cap);
  for (int i = 0; i < cap + extra; i++)
    ASSERT_EQ(st->Update("id" + std::to_string(i), Bytes("v"), 1000 + i), ipc::kStatOk);
  EXPECT_EQ(st->entries(), cap);
  EXPECT_EQ(st->stats().evictions, static_cast<uint64_t>(extra));
  SecretBytes out;
  for (int i = 0; i < extra; i++)
    EXPECT_EQ(st->Lookup("id" + std::to_string(i), 2000, &out), CacheStore::Found::kNotFound) << i;
  for (int i = extra; i < cap + extra; i++)
    EXPECT_EQ(st->Lookup("id" + std::to_string(i), 2000, &out), CacheStore::Found::kFound) << i;
  EXPECT_EQ(CountRows(st, d / "c.sqlite"), cap);
}

TEST(CacheStore, SizeCapSameTimestampUsesInsertionOrderAndOverwriteDoesNotEvict) {
  TempDir d;
  auto st = MustOpen(d / "c.sqlite", 3600, 3);
  for (const char* id : {"a", "b", "c"}) ASSERT_EQ(st->Update(id, Bytes("v"), 1000), ipc::kStatOk);
  ASSERT_EQ(st->Update("b", Bytes("w"), 1000), ipc::kStatOk);  // overwrite: no eviction
  EXPECT_EQ(st->stats().evictions, 0u);
  ASSERT_EQ(st->Update("d", Bytes("v"), 1000), ipc::kStatOk);
  SecretBytes out;
  EXPECT_EQ(st->Lookup("a", 1000, &out), CacheStore::Found::kNotFound);
  EXPECT_EQ(st->Lookup("d", 1000, &out), CacheStore::Found::kFound);
  EXPECT_EQ(st->entries(), 3);
}

TEST(CacheStore, OverwriteReplacesTheValueInPlaceAndKeepsInsertionOrder) {
  TempDir d;
  auto st = MustOpen(d / "c.sqlite", 3600, 3);
  for (const char* id : {"a", "b", "c"}) ASSERT_EQ(st->Update(id, Bytes("v"), 1000), ipc::kStatOk);
  ASSERT_EQ(st->Update("b", Bytes("new value"), 1000), ipc::kStatOk);
  SecretBytes out;
  ASSERT_EQ(st->Lookup("b", 1000, &out), CacheStore::Found::kFound);
  EXPECT_EQ(Str(out), "new value");
  EXPECT_EQ(st->entries(), 3);
  EXPECT_EQ(st->stats().updates, 4u);
  // Same timestamp: the overwritten "b" is still second in line.
  ASSERT_EQ(st->Update("d", Bytes("v"), 1000), ipc::kStatOk);
  ASSERT_EQ(st->Update("e", Bytes("v"), 1000), ipc::kStatOk);
  EXPECT_EQ(st->Lookup("b", 1000, &out), CacheStore::Found::kNotFound);
  EXPECT_EQ(st->Lookup("c", 1000, &out), CacheStore::Found::kFound);
  EXPECT_EQ(st->stats().evictions, 2u);
  EXPECT_EQ(CountRows(st, d / "c.sqlite"), 3);
}

TEST(CacheStore, BatchedCountsUpdatesOfTheOpenTransaction) {
  TempDir d;
  std::string path = d / "c.sqlite";
  auto st = MustOpen(path);
  EXPECT_EQ(st->batched(), 0u);
  ASSERT_EQ(st->Update("a", Bytes("1"), 1000), ipc::kStatOk);
  EXPECT_EQ(st->batched(), 0u);  // committed at once
  st->SetDeferredCommit(true);
  ASSERT_EQ(st->Update("b", Bytes("2"), 1000), ipc::kStatOk);
  ASSERT_EQ(st->Update("b", Bytes("3"), 1000), ipc::kStatOk);
  ASSERT_EQ(st->Update("c", Bytes("4"), 1000), ipc::kStatOk);
  EXPECT_EQ(st->batched(), 3u);
  EXPECT_EQ(st->entries(), 3);
  EXPECT_TRUE(st->Commit());
  EXPECT_EQ(st->batched(), 0u);
  // A batch lost to damage: nothing is left open.
  ASSERT_EQ(st->Update("d", Bytes("5"), 1000), ipc::kStatOk);
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  LogCapture cap;
  EXPECT_FALSE(st->Commit());
  EXPECT_EQ(st->batched(), 0u);
  EXPECT_EQ(st->entries(), 0);
}

TEST(CacheStore, UnlimitedWhenCapIsZero) {
  TempDir d;
  auto st = MustOpen(d / "c.sqlite", 3600, 0);
  for (int i = 0; i < 300; i++) ASSERT_EQ(st->Update("id" + std::to_string(i), Bytes("v"), 1000), ipc::kStatOk);
  EXPECT_EQ(st->entries(), 300);
  EXPECT_EQ(st->stats().evictions, 0u);
}

TEST(CacheStore, TruncatedAtEveryOpen) {
  TempDir d;
  {
    auto st = MustOpen(d / "c.sqlite");
    ASSERT_EQ(st->Update("a", Bytes("v"), 1000), ipc::kStatOk);
  }
  LogCapture cap;
  auto st = MustOpen(d / "c.sqlite");
  SecretBytes out;
  EXPECT_EQ(st->Lookup("a", 1000, &out), CacheStore::Found::kNotFound);
  EXPECT_EQ(cap.Count(log::Level::kWarning), 0u);  // our own file: silently recreated
  EXPECT_EQ(CountCorrupt(d.path()), 0u);
}

TEST(CacheStore, NotADatabaseAtOpenIsMovedAside) {
  TempDir d;
  WriteFile(d / "c.sqlite", std::string(8192, 'G'));
  LogCapture cap;
  auto st = MustOpen(d / "c.sqlite");
  ASSERT_TRUE(st);
  EXPECT_EQ(cap.Count(log::Level::kWarning, "moved aside"), 1u);
  EXPECT_EQ(CountCorrupt(d.path()), 1u);
  EXPECT_EQ(st->Update("a", Bytes("v"), 1), ipc::kStatOk);
}

TEST(CacheStore, TruncatedDatabaseAtOpenIsMovedAside) {
  TempDir d;
  std::string path = d / "c.sqlite";
  {
    auto st = MustOpen(path);
    std::string big(2000, 'x');
    for (int i = 0; i < 200; i++) ASSERT_EQ(st->Update("id" + std::to_string(i), Bytes(big), 1), ipc::kStatOk);
  }
  struct stat sb;
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  ASSERT_GT(sb.st_size, 3 * 4096);
  ASSERT_EQ(::truncate(path.c_str(), sb.st_size / 2 + 100), 0);  // mid-page
  LogCapture cap;
  auto st = MustOpen(path);
  ASSERT_TRUE(st);
  EXPECT_EQ(cap.Count(log::Level::kWarning, "moved aside"), 1u);
  EXPECT_EQ(CountCorrupt(d.path()), 1u);
  EXPECT_EQ(st->entries(), 0);
}

TEST(CacheStore, ForeignSchemaAtOpenIsMovedAsideNotDestroyed) {
  TempDir d;
  std::string path = d / "c.sqlite";
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    SqlitePtr db(raw);
    ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE precious(x); INSERT INTO precious VALUES(42);", nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  LogCapture cap;
  auto st = MustOpen(path);
  ASSERT_TRUE(st);
  EXPECT_EQ(cap.Count(log::Level::kWarning, "foreign database schema"), 1u);
  ASSERT_EQ(CountCorrupt(d.path()), 1u);
  // The foreign data survives in the moved-aside file.
  for (const std::string& f : Listing(d.path())) {
    if (f.find(".corrupt-") == std::string::npos) continue;
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open_v2((d / f).c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    SqlitePtr db(raw);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT x FROM precious", -1, &s, nullptr), SQLITE_OK);
    SqliteStmtPtr stmt(s);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(s, 0), 42);
  }
}

TEST(CacheStore, DirectoryAtPathIsAnError) {
  TempDir d;
  ASSERT_EQ(::mkdir((d / "c.sqlite").c_str(), 0700), 0);
  Result<std::unique_ptr<CacheStore>> st = CacheStore::Open({"smtpd", d / "c.sqlite", 3600, 0});
  EXPECT_FALSE(st);
}

TEST(CacheStore, GarbageWrittenUnderOpenStoreHealsOnNextRequest) {
  TempDir d;
  std::string path = d / "c.sqlite";
  auto st = MustOpen(path);
  ASSERT_EQ(st->Update("a", Bytes("v"), 1000), ipc::kStatOk);
  WriteFile(path, std::string(16384, '\xA5'));
  LogCapture cap;
  SecretBytes out;
  EXPECT_EQ(st->Lookup("a", 1000, &out), CacheStore::Found::kFailed);
  EXPECT_EQ(cap.Count(log::Level::kWarning, "moved aside"), 1u);
  EXPECT_EQ(CountCorrupt(d.path()), 1u);
  EXPECT_EQ(st->stats().heals, 1u);
  EXPECT_TRUE(st->healthy());
  // The fresh cache works.
  EXPECT_EQ(st->Update("b", Bytes("w"), 1000), ipc::kStatOk);
  EXPECT_EQ(st->Lookup("b", 1000, &out), CacheStore::Found::kFound);
  EXPECT_EQ(st->entries(), 1);
}

TEST(CacheStore, FileTruncatedToZeroUnderOpenStoreHealsOnUpdate) {
  TempDir d;
  std::string path = d / "c.sqlite";
  auto st = MustOpen(path);
  ASSERT_EQ(st->Update("a", Bytes("v"), 1000), ipc::kStatOk);
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  LogCapture cap;
  EXPECT_EQ(st->Update("b", Bytes("v"), 1000), ipc::kStatFail);
  EXPECT_GE(cap.Count(log::Level::kWarning), 1u);
  EXPECT_EQ(st->Update("b", Bytes("v"), 1000), ipc::kStatOk);
  SecretBytes out;
  EXPECT_EQ(st->Lookup("b", 1000, &out), CacheStore::Found::kFound);
}

TEST(CacheStore, FileTruncatedInPlaceToAPageMultipleIsNoticed) {
  TempDir d;
  std::string path = d / "c.sqlite";
  auto st = MustOpen(path);
  // Enough sessions for several pages, then cut the file to its first two
  // pages: the size is still a page multiple, the header says more.
  for (int i = 0; i < 200; ++i) ASSERT_EQ(st->Update("id" + std::to_string(i), Bytes(std::string(500, 'x')), 1000), ipc::kStatOk);
  struct stat sb;
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  ASSERT_GT(sb.st_size, 8 * 4096);
  ASSERT_EQ(::truncate(path.c_str(), 2 * 4096), 0);
  LogCapture cap;
  SecretBytes out;
  st->Lookup("id1", 1000, &out);
  EXPECT_EQ(cap.Count(log::Level::kWarning, "file truncated"), 1u) << "in-place truncation to a page multiple went unnoticed";
  EXPECT_EQ(st->Update("after", Bytes("v"), 1000), ipc::kStatOk);
  EXPECT_EQ(st->Lookup("after", 1000, &out), CacheStore::Found::kFound);
}

TEST(CacheStore, FileTruncatedBeforeTheFirstCommitIsNoticedAtCommit) {
  TempDir d;
  std::string path = d / "c.sqlite";
  auto opened = CacheStore::Open({"smtpd", path, 3600, 0, std::chrono::milliseconds(60000)});
  ASSERT_TRUE(opened) << opened.error();
  auto& st = *opened;
  st->SetDeferredCommit(true);
  // A fresh file holds only the schema; the batch is still in memory when
  // the file is cut in place to a page multiple.
  ASSERT_EQ(st->Update("a", Bytes(std::string(1500, 'x')), 1000), ipc::kStatOk);
  struct stat sb;
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  ASSERT_GE(sb.st_size, 3 * 4096);
  ASSERT_EQ(::truncate(path.c_str(), sb.st_size / 2 / 4096 * 4096), 0);
  LogCapture cap;
  EXPECT_FALSE(st->Commit());
  EXPECT_EQ(cap.Count(log::Level::kWarning, "file truncated"), 1u);
  EXPECT_EQ(st->stats().heals, 1u);
  EXPECT_EQ(st->Update("b", Bytes("v"), 1000), ipc::kStatOk);
  EXPECT_TRUE(st->Commit());
}

TEST(CacheStore, FileRemovedUnderOpenStoreKeepsServing) {
  TempDir d;
  std::string path = d / "c.sqlite";
  auto st = MustOpen(path);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  // The open descriptor still works: no crash, the request is answered.
  EXPECT_EQ(st->Update("b", Bytes("v"), 1000), ipc::kStatOk);
}

TEST(CacheStore, DamageIsNoticedOnlyAfterTheCheckInterval) {
  TempDir d;
  std::string path = d / "c.sqlite";
  auto opened = CacheStore::Open({"smtpd", path, 3600, 0, std::chrono::milliseconds(300)});
  ASSERT_TRUE(opened) << opened.error();
  auto& st = *opened;
  ASSERT_EQ(st->Update("a", Bytes("v"), 1000), ipc::kStatOk);
  WriteFile(path, std::string(8192, '\0'));
  LogCapture cap;
  SecretBytes out;
  // Within the interval the page cache still answers (no system call).
  EXPECT_EQ(st->Lookup("a", 1000, &out), CacheStore::Found::kFound);
  EXPECT_EQ(st->stats().heals, 0u);
  ::usleep(350 * 1000);
  EXPECT_EQ(st->Lookup("a", 1000, &out), CacheStore::Found::kFailed);
  EXPECT_EQ(cap.Count(log::Level::kWarning, "not an SQLite database"), 1u);
  EXPECT_EQ(st->stats().heals, 1u);
  EXPECT_EQ(st->Update("b", Bytes("w"), 1000), ipc::kStatOk);
}

TEST(CacheStore, FileReplacedByRenameIsMovedAsideAndHealed) {
  TempDir d;
  std::string path = d / "c.sqlite";
  auto st = MustOpen(path);
  ASSERT_EQ(st->Update("a", Bytes("v"), 1000), ipc::kStatOk);
  WriteFile(d / "other", "someone else's file");
  ASSERT_EQ(::rename((d / "other").c_str(), path.c_str()), 0);
  LogCapture cap;
  SecretBytes out;
  EXPECT_EQ(st->Lookup("a", 1000, &out), CacheStore::Found::kFailed);
  EXPECT_EQ(cap.Count(log::Level::kWarning, "moved aside"), 1u);
  EXPECT_EQ(CountCorrupt(d.path()), 1u);
  EXPECT_EQ(st->Update("b", Bytes("w"), 1000), ipc::kStatOk);
  EXPECT_EQ(st->Lookup("b", 1000, &out), CacheStore::Found::kFound);
}

TEST(CacheStore, DeferredCommitBatchesUpdatesAndCommitsAtTheEnd) {
  TempDir d;
  std::string path = d / "c.sqlite";
  auto st = MustOpen(path);
  st->SetDeferredCommit(true);
  ASSERT_EQ(st->Update("a", Bytes("1"), 1000), ipc::kStatOk);
  ASSERT_EQ(st->Update("b", Bytes("2"), 1000), ipc::kStatOk);
  SecretBytes out;
  EXPECT_EQ(st->Lookup("a", 1000, &out), CacheStore::Found::kFound);  // visible inside the batch
  EXPECT_EQ(st->Delete("b"), ipc::kStatOk);
  EXPECT_TRUE(st->Commit());
  EXPECT_TRUE(st->Commit());  // nothing open: a no-op
  ASSERT_EQ(st->Update("c", Bytes("3"), 1000), ipc::kStatOk);
  EXPECT_EQ(st->entries(), 2);
  // The destructor commits what is still open.
  EXPECT_EQ(CountRows(st, path), 2);
}

}  // namespace
}  // namespace pftls::mgr
