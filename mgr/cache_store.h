/*++
 * NAME
 *	mgr/cache_store.h - one TLS session cache in an SQLite file
 * SYNOPSIS
 *	#include "mgr/cache_store.h"
 *
 *	Result<std::string> file = MapCacheDatabase("btree:/var/lib/postfix/smtpd_scache");
 *	CacheStoreOptions o{"smtpd", *file, 3600, 100000};
 *	Result<std::unique_ptr<CacheStore>> st = CacheStore::Open(o);
 *	CacheStore::Found f = (*st)->Lookup(id, now, &session);
 *	int status = (*st)->Update(id, session, now);
 *	int status = (*st)->Delete(id);
 *	size_t n = (*st)->CleanupStep(now, 256);
 * DESCRIPTION
 *	CacheStore keeps the entries of one tlsmgr session cache (smtpd,
 *	smtp or lmtp) in one SQLite database file:
 *
 *	    CREATE TABLE sessions (id TEXT PRIMARY KEY, saved INTEGER NOT NULL,
 *	                           session BLOB NOT NULL, size INTEGER NOT NULL);
 *	    CREATE INDEX sessions_saved ON sessions(saved);
 *
 *	with PRAGMA application_id 0x70667473 ("pfts") and user_version 1
 *	marking the file as ours. Session values are opaque bytes: stored
 *	and returned as given, never parsed. Every statement is prepared
 *	once at open and bound per request; no SQL text is ever built from
 *	request data.
 *
 *	MapCacheDatabase() turns a Postfix map name into a file name:
 *	"btree:PATH", "lmdb:PATH", "hash:PATH" (and "sdbm:PATH") become
 *	"PATH.sqlite" with one warning per call; "sqlite:PATH" and a plain
 *	absolute path are used as is; any other "type:" is an error.
 *
 *	Open() recreates the cache, as Postfix truncates its cache at every
 *	tlsmgr start. An existing file that is ours is removed and created
 *	anew. An existing file that is not ours - not a database, a
 *	truncated or otherwise damaged database, or a database with a
 *	foreign schema - is logged and moved aside to
 *	"<file>.corrupt-<unix time>" (never destroyed: it may be someone
 *	else's data), then a fresh file is created.
 *
 *	Expiry: an entry is expired when saved + timeout < now. Lookup of an
 *	expired entry deletes it and reports kNotFound. CleanupStep()
 *	deletes at most max_rows expired entries (oldest first, through the
 *	saved index) and returns how many it deleted; the caller runs it
 *	once per event-loop pass while it returns max_rows, so a large
 *	backlog never stalls the loop.
 *
 *	Update() of a new id (one per full TLS handshake) is one INSERT; an
 *	existing id is overwritten in place (it keeps its insertion order).
 *
 *	Size cap: with max_entries > 0, an Update() that inserts a new entry
 *	beyond the cap evicts the oldest entries (smallest saved, then
 *	insertion order) until exactly max_entries remain. 0 is unlimited.
 *
 *	Self-healing at run time: when a statement fails with SQLITE_CORRUPT,
 *	SQLITE_NOTADB, SQLITE_IOERR, SQLITE_SCHEMA or a vanished table, or
 *	when the file check below finds the file overwritten, truncated or
 *	replaced under us, the store logs one warning, closes the database,
 *	moves the file aside, creates a fresh one and answers the request
 *	as a miss (lookup) or a failure (update, delete). If even the
 *	re-creation fails the store stays closed and answers failures; it
 *	retries at most once every kReopenInterval seconds. Nothing here
 *	ever exits the process.
 *
 *	Journal and locking: the cache is disposable (recreated at every
 *	start), so on-disk durability across an OS crash buys nothing, and
 *	exactly one process uses the file. journal_mode=MEMORY keeps
 *	in-process atomicity (a failed statement or transaction rolls back)
 *	without a journal file; synchronous=OFF spares an fsync per update
 *	(one per full TLS handshake); locking_mode=EXCLUSIVE takes the file
 *	lock once instead of twice per request (no fcntl, no hot-journal
 *	stat calls, no header re-read: a lookup is one SQLite step and no
 *	system call when the page is cached). A crash in mid-commit can
 *	leave a torn file; the next start detects it and moves it aside.
 *
 *	File check: with an exclusive lock SQLite trusts its page cache and
 *	would not notice a file damaged under it, so the store keeps its own
 *	descriptor of the file (opened when the file is created, closed only
 *	after SQLite's, so that closing it never drops SQLite's POSIX lock)
 *	and, before a request when at least check_interval has passed since
 *	the last check (default 1 s; 0: every request), reads the 100-byte
 *	header: the SQLite magic, our application_id and a size that is a
 *	whole number of pages must be there, and the path must still name
 *	the same inode (a file removed from the path is tolerated: the open
 *	descriptor keeps serving). Cost: three system calls per interval.
 *	temp_store=MEMORY keeps sort and temporary data off the disk;
 *	cache_size is 8 MiB (SQLite: 2 MiB), so a busy cache is read from
 *	memory;
 *	busy_timeout is 0 (a second user of the file is an error, not
 *	something to wait for).
 *
 *	Batched commits: with deferred_commit, Update() leaves its write
 *	transaction open and the owner calls Commit() later (tlsmgr: a few
 *	milliseconds after the batch's first update, see service.h), so N
 *	updates cost one commit: each dirty page is written once, not once
 *	per update (the table's last leaf, the index leaves and page 1 are
 *	shared by the updates of a batch). batched() tells the owner how
 *	many updates the open transaction holds. Lookups, deletes and
 *	cleanup inside the open transaction see its updates. A failed
 *	update or commit rolls back the whole batch (no savepoints: in
 *	SQLite they more than double the page writes per commit), which
 *	loses entries that were answered "stored" - for a cache that is the
 *	same as an early eviction (the next handshake is a full one); it is
 *	logged. Without deferred_commit every update commits at once.
 *
 *	Counters (stats()): hits, misses, updates, deletes, evictions,
 *	expired, and entries() - the current number of rows, maintained
 *	exactly without COUNT(*).
 *
 *	Public API:
 *	Open(options) - recreate and open; error when even a fresh file
 *	    cannot be created.
 *	Lookup(id, now, &session) - kFound (session filled), kNotFound,
 *	    kFailed.
 *	Update(id, session, now) - ipc status: 0 stored, -2 failed.
 *	Delete(id) - ipc status: 0 deleted, -1 no such entry, -2 failed.
 *	CleanupStep(now, max_rows) - expired rows deleted in this step.
 *	entries(), stats(), path(), type(), timeout(), healthy().
 *	SetPath(path) - the name by which the file is reached from now on
 *	    (after a chroot); used only when healing.
 * SECURITY
 *	Cache ids and sessions come from TLS clients via local processes:
 *	their sizes are bounded by ipc/msg_tlsmgr.h before they get here,
 *	and they are only ever bound as parameters. Open as mail_owner,
 *	before the jail; the file is created with mode 0600.
 * DIAGNOSTICS
 *	"warning: <type> TLS session cache <file>: <reason>; moved aside to
 *	<file>.corrupt-<time>"; "warning: using SQLite file <f> instead of
 *	<map>". Open() errors name the file and SQLite's message.
 * CONFIGURATION PARAMETERS
 *	smtpd_tls_session_cache_database, smtp_tls_session_cache_database,
 *	lmtp_tls_session_cache_database and their _timeout companions,
 *	pftls_session_cache_max_entries (all applied by mgr/service.h).
 *--*/
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/handles.h"
#include "util/result.h"
#include "util/secret.h"

namespace pftls::mgr {

// MapCacheDatabase - see DESCRIPTION.
Result<std::string> MapCacheDatabase(std::string_view name);

struct CacheStoreOptions {
  std::string type;         // "smtpd", "smtp" or "lmtp" (for log lines)
  std::string path;         // the SQLite file
  long timeout = 3600;      // seconds, > 0
  int64_t max_entries = 0;  // 0: unlimited
  std::chrono::milliseconds check_interval{1000};  // file check, see DESCRIPTION
  bool deferred_commit = false;                     // see Commit()
};

struct CacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t updates = 0;
  uint64_t deletes = 0;
  uint64_t evictions = 0;
  uint64_t expired = 0;
  uint64_t heals = 0;  // files moved aside at run time
};

class CacheStore {
 public:
  enum class Found { kFound, kNotFound, kFailed };
  static constexpr int64_t kReopenInterval = 10;
  static constexpr uint32_t kApplicationId = 0x70667473;  // "pfts"
  static constexpr int kSchemaVersion = 1;

  static Result<std::unique_ptr<CacheStore>> Open(CacheStoreOptions options);
  ~CacheStore();
  CacheStore(const CacheStore&) = delete;
  CacheStore& operator=(const CacheStore&) = delete;

  Found Lookup(std::string_view id, int64_t now, SecretBytes* session);
  int Update(std::string_view id, std::span<const uint8_t> session, int64_t now);
  int Delete(std::string_view id);
  size_t CleanupStep(int64_t now, size_t max_rows);
  // Commit - end the open write transaction, if any; false when the
  // commit failed (the batch is lost, logged, and the store may heal).
  bool Commit();
  off_t FileSize() const;

  // batched - updates in the open write transaction (0: none open).
  size_t batched() const { return batched_; }
  int64_t entries() const { return entries_; }
  const CacheStats& stats() const { return stats_; }
  const std::string& path() const { return opts_.path; }
  const std::string& type() const { return opts_.type; }
  long timeout() const { return opts_.timeout; }
  bool healthy() const { return db_ != nullptr; }
  void SetPath(std::string path) { opts_.path = std::move(path); }
  void SetDeferredCommit(bool on) { opts_.deferred_commit = on; }

 private:
  explicit CacheStore(CacheStoreOptions options) : opts_(std::move(options)) {}
  // Create - remove what is at path (moving foreign/damaged files aside)
  // and create a fresh database.
  Status Create(int64_t now);
  Status OpenFresh();
  void CloseDb();
  // Failed - handle a failed statement: heal on damage, else warn.
  void Failed(int rc, const char* what);
  // Rollback - undo the open write transaction (the whole batch).
  void Rollback();
  // Heal - move the damaged file aside and start a fresh database.
  void Heal(const char* why);
  // Usable - a database is open and its file passed the check, or it
  // could be reopened now.
  bool Usable();
  // FileDamage - why the file under the open database is no longer
  // ours, or nullptr (see "File check").
  const char* FileDamage();

  CacheStoreOptions opts_;
  UniqueFd check_fd_;  // declared before db_: closed after it
  SqlitePtr db_;
  SqliteStmtPtr get_, set_, add_, del_, expire_, evict_, begin_, commit_, rollback_;
  bool txn_open_ = false;
  size_t batched_ = 0;
  int64_t entries_at_begin_ = 0;
  int64_t entries_ = 0;
  int64_t last_reopen_ = 0;
  std::chrono::steady_clock::time_point next_check_{};
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  off_t known_size_ = 0;  // file size after our last commit: it never shrinks by itself
  CacheStats stats_;
};

}  // namespace pftls::mgr
