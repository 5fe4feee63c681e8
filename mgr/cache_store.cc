// mgr/cache_store.cc - see mgr/cache_store.h.
#include "mgr/cache_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "ipc/msg_tlsmgr.h"
#include "util/fd.h"
#include "util/log.h"

namespace pftls::mgr {
namespace {

constexpr const char* kSchema =
    "PRAGMA locking_mode=EXCLUSIVE;"
    "PRAGMA journal_mode=MEMORY;"
    "PRAGMA synchronous=OFF;"
    "PRAGMA temp_store=MEMORY;"
    "PRAGMA cache_size=-8192;"  // 8 MiB of pages (default 2 MiB): a busy cache stays in memory
    "PRAGMA application_id=1885762675;"  // 0x70667473
    "PRAGMA user_version=1;"
    "CREATE TABLE sessions (id TEXT PRIMARY KEY, saved INTEGER NOT NULL,"
    " session BLOB NOT NULL, size INTEGER NOT NULL);"
    "CREATE INDEX sessions_saved ON sessions(saved);";
static_assert(CacheStore::kApplicationId == 1885762675u);

// StmtScope - reset and unbind a statement when the request is done.
// The statement may be finalized meanwhile (a failure healed the store).
struct StmtScope {
  SqliteStmtPtr& s;
  ~StmtScope() {
    if (s) {
      sqlite3_reset(s.get());
      sqlite3_clear_bindings(s.get());
    }
  }
};

bool IsDamage(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_IOERR:
    case SQLITE_SCHEMA:
    case SQLITE_ERROR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
      return true;
    default:
      return false;
  }
}

void RemoveCompanions(const std::string& path) {
  for (const char* suffix : {"-journal", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
}

// MoveAside - rename path to path.corrupt-<time>; the new name or an error.
Result<std::string> MoveAside(const std::string& path) {
  std::string aside = path + ".corrupt-" + std::to_string(static_cast<long long>(::time(nullptr)));
  if (::rename(path.c_str(), aside.c_str()) != 0 && errno != ENOENT)
    return MakeError("cannot rename " + path + " to " + aside + ": " + std::strerror(errno));
  RemoveCompanions(path);
  return aside;
}

enum class Kind { kAbsent, kOurs, kForeign, kDamaged, kNotFile };

// Inspect - what is at path, without changing it.
Kind Inspect(const std::string& path, std::string* why) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return Kind::kAbsent;
  if (!S_ISREG(st.st_mode)) {
    *why = "not a regular file";
    return Kind::kNotFile;
  }
  if (st.st_size == 0) return Kind::kOurs;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  SqlitePtr db(raw);
  if (rc != SQLITE_OK) {
    *why = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    return Kind::kDamaged;
  }
  auto scalar = [&](const char* sql, std::string* out) -> int {
    sqlite3_stmt* s = nullptr;
    int r = sqlite3_prepare_v2(db.get(), sql, -1, &s, nullptr);
    SqliteStmtPtr stmt(s);
    if (r != SQLITE_OK) return r;
    r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(s, 0);
      *out = t ? reinterpret_cast<const char*>(t) : "";
      return SQLITE_OK;
    }
    return r == SQLITE_DONE ? SQLITE_OK : r;
  };
  std::string app, objects, check;
  if (int r = scalar("PRAGMA application_id", &app); r != SQLITE_OK) {
    *why = sqlite3_errmsg(db.get());
    return Kind::kDamaged;
  }
  if (int r = scalar("SELECT count(*) FROM sqlite_schema", &objects); r != SQLITE_OK) {
    *why = sqlite3_errmsg(db.get());
    return Kind::kDamaged;
  }
  if (app != std::to_string(CacheStore::kApplicationId) && objects != "0") {
    *why = "foreign database schema";
    return Kind::kForeign;
  }
  if (int r = scalar("PRAGMA quick_check(1)", &check); r != SQLITE_OK || check != "ok") {
    *why = r != SQLITE_OK ? sqlite3_errmsg(db.get()) : "integrity check: " + check;
    return Kind::kDamaged;
  }
  return Kind::kOurs;
}

}  // namespace

Result<std::string> MapCacheDatabase(std::string_view name) {
  size_t colon = name.find(':');
  if (colon == std::string_view::npos || name.substr(0, 1) == "/") {
    if (name.empty() || name[0] != '/') return MakeError("cache database must be an absolute path: " + std::string(name));
    return std::string(name);
  }
  std::string type(name.substr(0, colon));
  std::string path(name.substr(colon + 1));
  if (path.empty() || path[0] != '/')
    return MakeError("cache database must be an absolute path: " + std::string(name));
  if (type == "sqlite") return path;
  if (type == "btree" || type == "lmdb" || type == "hash" || type == "sdbm") {
    std::string file = path + ".sqlite";
    log::Warn("using SQLite file %s instead of %s", file.c_str(), std::string(name).c_str());
    return file;
  }
  return MakeError("unsupported TLS session cache database type \"" + type + "\" in " + std::string(name));
}

Result<std::unique_ptr<CacheStore>> CacheStore::Open(CacheStoreOptions options) {
  std::unique_ptr<CacheStore> st(new CacheStore(std::move(options)));
  if (Status s = st->Create(::time(nullptr)); !s) return MakeError(s.error());
  return st;
}

CacheStore::~CacheStore() {
  Commit();
  CloseDb();
}

void CacheStore::CloseDb() {
  for (SqliteStmtPtr* p :
       {&get_, &set_, &add_, &del_, &expire_, &evict_, &begin_, &commit_, &rollback_})
    p->reset();
  db_.reset();  // rolls back an open transaction
  txn_open_ = false;
  batched_ = 0;
  check_fd_.reset();  // after SQLite's descriptor: see "File check"
  entries_ = 0;
}

Status CacheStore::Create(int64_t now) {
  last_reopen_ = now;
  const std::string& path = opts_.path;
  std::string why;
  switch (Inspect(path, &why)) {
    case Kind::kAbsent:
      RemoveCompanions(path);
      break;
    case Kind::kOurs:
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return MakeError("cannot remove " + path + ": " + std::strerror(errno));
      RemoveCompanions(path);
      break;
    case Kind::kNotFile:
      return MakeError(opts_.type + " TLS session cache " + path + ": " + why);
    case Kind::kForeign:
    case Kind::kDamaged: {
      Result<std::string> aside = MoveAside(path);
      if (!aside) return MakeError(aside.error());
      log::Warn("%s TLS session cache %s: %s; moved aside to %s", opts_.type.c_str(), path.c_str(),
                why.c_str(), aside->c_str());
      break;
    }
  }
  return OpenFresh();
}

Status CacheStore::OpenFresh() {
  const std::string& path = opts_.path;
  UniqueFd check(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!check) return MakeError("cannot create " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(check.get(), &st) != 0) return MakeError("cannot stat " + path + ": " + std::strerror(errno));
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
  SqlitePtr db(raw);
  auto fail = [&](const char* what) {
    std::string msg = path + ": " + what + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    return MakeError(msg);
  };
  if (rc != SQLITE_OK) return fail("cannot open");
  sqlite3_busy_timeout(raw, 0);
  sqlite3_extended_result_codes(raw, 1);
  if (sqlite3_exec(raw, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) return fail("cannot create schema");
  struct {
    SqliteStmtPtr* stmt;
    const char* sql;
  } stmts[] = {
      {&get_, "SELECT saved, session FROM sessions WHERE id = ?1"},
      {&set_, "UPDATE sessions SET saved = ?2, session = ?3, size = ?4 WHERE id = ?1"},
      {&add_,
       "INSERT INTO sessions (id, saved, session, size) VALUES (?1, ?2, ?3, ?4)"
       " ON CONFLICT (id) DO NOTHING"},
      {&del_, "DELETE FROM sessions WHERE id = ?1"},
      {&expire_,
       "DELETE FROM sessions WHERE rowid IN"
       " (SELECT rowid FROM sessions WHERE saved < ?1 ORDER BY saved LIMIT ?2)"},
      // One row per step: a scalar subquery needs no temporary table
      // (an IN list builds one per execution).
      {&evict_,
       "DELETE FROM sessions WHERE rowid ="
       " (SELECT rowid FROM sessions ORDER BY saved, rowid LIMIT 1)"},
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},

  };
  for (auto& s : stmts) {
    sqlite3_stmt* p = nullptr;
    if (sqlite3_prepare_v3(raw, s.sql, -1, SQLITE_PREPARE_PERSISTENT, &p, nullptr) != SQLITE_OK) {
      sqlite3_finalize(p);
      CloseDb();
      return fail("cannot prepare statement");
    }
    s.stmt->reset(p);
  }
  check_fd_ = std::move(check);
  db_ = std::move(db);
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  // The schema's pages are on disk now: a cut below them before the first
  // commit is damage too (st.st_size is the empty file's).
  known_size_ = std::max<off_t>(FileSize(), 0);
  next_check_ = std::chrono::steady_clock::now() + opts_.check_interval;
  entries_ = 0;
  return Status::Ok();
}

void CacheStore::Failed(int rc, const char* what) {
  std::string msg = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
  if (!IsDamage(rc)) {
    log::Warn("%s TLS session cache %s: %s: %s", opts_.type.c_str(), opts_.path.c_str(), what, msg.c_str());
    return;
  }
  Heal((std::string(what) + ": " + msg).c_str());
}

void CacheStore::Heal(const char* why) {
  CloseDb();
  stats_.heals++;
  Result<std::string> aside = MoveAside(opts_.path);
  if (aside)
    log::Warn("%s TLS session cache %s: %s; moved aside to %s, starting a new cache", opts_.type.c_str(),
              opts_.path.c_str(), why, aside->c_str());
  else
    log::Warn("%s TLS session cache %s: %s; %s", opts_.type.c_str(), opts_.path.c_str(), why,
              aside.error().c_str());
  last_reopen_ = ::time(nullptr);
  if (Status s = OpenFresh(); !s) {
    log::Warn("%s TLS session cache disabled for now: %s; retrying in %lld s", opts_.type.c_str(), s.error().c_str(),
              static_cast<long long>(kReopenInterval));
    CloseDb();
  }
}

const char* CacheStore::FileDamage() {
  unsigned char h[100];
  ssize_t n = ::pread(check_fd_.get(), h, sizeof(h), 0);
  if (n < 0) return "cannot read the file header";
  struct stat st;
  if (::fstat(check_fd_.get(), &st) != 0) return "cannot stat the file";
  if (n == 0 && st.st_size == 0) return "file truncated";
  if (n != static_cast<ssize_t>(sizeof(h)) || std::memcmp(h, "SQLite format 3", 16) != 0)
    return "file overwritten: not an SQLite database";
  uint32_t app = (uint32_t{h[68]} << 24) | (uint32_t{h[69]} << 16) | (uint32_t{h[70]} << 8) | h[71];
  if (app != kApplicationId) return "file overwritten: foreign database";
  uint32_t page = (uint32_t{h[16]} << 8) | h[17];
  if (page == 1) page = 65536;
  if (page < 512 || st.st_size % page != 0 || st.st_size < known_size_) return "file truncated";
  // The header's database size in pages (offset 28) is valid when the
  // version-valid-for number (92) equals the change counter (24); a file
  // shorter than that lost pages (truncated in place to a page multiple).
  auto be32 = [&h](int off) {
    return (uint32_t{h[off]} << 24) | (uint32_t{h[off + 1]} << 16) | (uint32_t{h[off + 2]} << 8) | h[off + 3];
  };
  if (be32(92) == be32(24) && static_cast<uint64_t>(st.st_size) < uint64_t{be32(28)} * page) return "file truncated";
  struct stat now;
  if (::stat(opts_.path.c_str(), &now) == 0 && (now.st_dev != dev_ || now.st_ino != ino_))
    return "file replaced";
  return nullptr;
}

bool CacheStore::Usable() {
  if (db_) {
    auto now = std::chrono::steady_clock::now();
    if (now < next_check_) return true;
    next_check_ = now + opts_.check_interval;
    const char* why = FileDamage();
    if (why == nullptr) return true;
    Heal(why);
    return false;
  }
  int64_t now = ::time(nullptr);
  if (now - last_reopen_ < kReopenInterval) return false;
  if (Status s = Create(now); !s) {
    log::Warn("%s TLS session cache still disabled: %s", opts_.type.c_str(), s.error().c_str());
    CloseDb();
    return false;
  }
  log::Info("%s TLS session cache %s: recreated", opts_.type.c_str(), opts_.path.c_str());
  return true;
}

CacheStore::Found CacheStore::Lookup(std::string_view id, int64_t now, SecretBytes* session) {
  if (!Usable()) return Found::kFailed;
  int64_t saved = 0;
  {
    StmtScope scope{get_};
    sqlite3_bind_text(get_.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    int rc = sqlite3_step(get_.get());
    if (rc == SQLITE_DONE) {
      stats_.misses++;
      return Found::kNotFound;
    }
    if (rc != SQLITE_ROW) {
      Failed(rc, "lookup");
      return Found::kFailed;
    }
    saved = sqlite3_column_int64(get_.get(), 0);
    if (saved + opts_.timeout >= now) {
      const void* blob = sqlite3_column_blob(get_.get(), 1);
      int n = sqlite3_column_bytes(get_.get(), 1);
      *session = SecretBytes(static_cast<const uint8_t*>(blob), static_cast<size_t>(n));
      stats_.hits++;
      return Found::kFound;
    }
  }
  // Expired: delete it and report not found.
  stats_.misses++;
  StmtScope scope{del_};
  sqlite3_bind_text(del_.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  int rc = sqlite3_step(del_.get());
  if (rc != SQLITE_DONE) {
    Failed(rc, "delete expired entry");
    return Found::kNotFound;
  }
  if (sqlite3_changes(db_.get()) > 0) {
    entries_--;
    stats_.expired++;
  }
  return Found::kNotFound;
}

// RunStmt - step a statement without bindings and reset it.
static int RunStmt(SqliteStmtPtr& s) {
  int rc = sqlite3_step(s.get());
  sqlite3_reset(s.get());
  return rc;
}

int CacheStore::Update(std::string_view id, std::span<const uint8_t> session, int64_t now) {
  if (!Usable()) return ipc::kStatFail;
  if (!txn_open_) {
    if (int rc = RunStmt(begin_); rc != SQLITE_DONE) {
      Failed(rc, "begin");
      return ipc::kStatFail;
    }
    txn_open_ = true;
    entries_at_begin_ = entries_;
  }
  auto abort_update = [&](int rc, const char* what) {
    Rollback();
    Failed(rc, what);
    return ipc::kStatFail;
  };
  auto bind = [&](sqlite3_stmt* s) {
    sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_blob(s, 3, session.data(), static_cast<int>(session.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, static_cast<int64_t>(session.size()));
  };
  // A new id (the common case: one per full handshake) costs one
  // statement: the insert is skipped on a conflicting id, which is then
  // overwritten in place (keeping its rowid, i.e. its insertion order).
  int64_t added = 0, evicted = 0;
  {
    StmtScope scope{add_};
    bind(add_.get());
    if (int rc = sqlite3_step(add_.get()); rc != SQLITE_DONE) return abort_update(rc, "insert");
    added = sqlite3_changes(db_.get()) > 0 ? 1 : 0;
  }
  if (added == 0) {
    StmtScope scope{set_};
    bind(set_.get());
    if (int rc = sqlite3_step(set_.get()); rc != SQLITE_DONE) return abort_update(rc, "update");
  }
  // At the cap an insert evicts one entry (entries_ is exact).
  for (int64_t over = entries_ + added - opts_.max_entries; opts_.max_entries > 0 && evicted < over;) {
    StmtScope scope{evict_};
    if (int rc = sqlite3_step(evict_.get()); rc != SQLITE_DONE) return abort_update(rc, "evict");
    if (sqlite3_changes(db_.get()) == 0) break;
    evicted++;
  }
  entries_ += added - evicted;
  batched_++;
  stats_.updates++;
  stats_.evictions += static_cast<uint64_t>(evicted);
  if (!opts_.deferred_commit && !Commit()) return ipc::kStatFail;
  return ipc::kStatOk;
}

// FileSize - the cache file's size now (-1: cannot tell).
off_t CacheStore::FileSize() const {
  struct stat st;
  return check_fd_ && ::fstat(check_fd_.get(), &st) == 0 ? st.st_size : -1;
}

bool CacheStore::Commit() {
  if (!txn_open_ || !db_) return true;
  // Cut in place behind our back (SQLite would write the dirty pages back
  // over a hole and never notice): look before every commit.
  if (off_t size = FileSize(); size >= 0 && size < known_size_) {
    Rollback();
    Heal("file truncated");
    return false;
  }
  int rc = RunStmt(commit_);
  if (rc == SQLITE_DONE) {
    txn_open_ = false;
    batched_ = 0;
    known_size_ = std::max<off_t>(FileSize(), 0);
    return true;
  }
  Rollback();
  Failed(rc, "commit");
  return false;
}

void CacheStore::Rollback() {
  if (!txn_open_) return;
  if (db_) RunStmt(rollback_);
  txn_open_ = false;
  batched_ = 0;
  entries_ = entries_at_begin_;
  known_size_ = std::max<off_t>(FileSize(), 0);  // a rollback may shrink the file
}

int CacheStore::Delete(std::string_view id) {
  if (!Usable()) return ipc::kStatFail;
  StmtScope scope{del_};
  sqlite3_bind_text(del_.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  int rc = sqlite3_step(del_.get());
  if (rc != SQLITE_DONE) {
    Failed(rc, "delete");
    return ipc::kStatFail;
  }
  if (sqlite3_changes(db_.get()) == 0) return ipc::kStatErr;
  entries_--;
  stats_.deletes++;
  return ipc::kStatOk;
}

size_t CacheStore::CleanupStep(int64_t now, size_t max_rows) {
  if (max_rows == 0 || !Usable()) return 0;
  StmtScope scope{expire_};
  sqlite3_bind_int64(expire_.get(), 1, now - opts_.timeout);
  sqlite3_bind_int64(expire_.get(), 2, static_cast<int64_t>(max_rows));
  int rc = sqlite3_step(expire_.get());
  if (rc != SQLITE_DONE) {
    Failed(rc, "cleanup");
    return 0;
  }
  int n = sqlite3_changes(db_.get());
  entries_ -= n;
  stats_.expired += static_cast<uint64_t>(n);
  return static_cast<size_t>(n);
}

}  // namespace pftls::mgr
