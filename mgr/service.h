/*++
 * NAME
 *	mgr/service.h - the tlsmgr request service and its factory
 * SYNOPSIS
 *	#include "mgr/service.h"
 *
 *	// Before the jail, as mail_owner:
 *	Result<std::unique_ptr<TlsmgrServiceImpl>> svc = BuildTlsmgrService(cfg);
 *	if (!svc) log::Fatal("%s", svc.error().c_str());
 *	// After the jail:
 *	(*svc)->EnteredJail("/var/spool/postfix");	// when chrooted
 *	(*svc)->Start();				// PRNG seed + exchange file
 *	(*svc)->Arm(base);				// cleanup, PRNG, statistics timers
 *	ipc::Server srv(base, fd, ipc::TlsmgrServerOptions(), ipc::TlsmgrRoutes(**svc));
 *	...
 *	(*svc)->Shutdown();				// at exit
 * DESCRIPTION
 *	TlsmgrServiceImpl implements ipc::TlsmgrService with the semantics
 *	of spec §5.2 (requests arrive already validated by ipc/tlsmgr_routes;
 *	the methods still check what they rely on):
 *
 *	seed(size) - status 0 and size bytes from RAND_bytes; size outside
 *	    1..255: warning "bogus seed length", -2.
 *	policy(type) - status 0, cachable 1 when the type's cache is enabled,
 *	    timeout = the type's sanitised cache timeout even when its
 *	    database is unset; unknown type: warning, -2, 0, 0.
 *	lookup(type, id) - 0 and the stored bytes; -1 not found or expired
 *	    (the expired entry is deleted); -2 cache disabled, unknown type,
 *	    or the store failed (a damaged file is healed, see cache_store.h).
 *	update(type, id, session) - 0 stored (overwrites; may evict the
 *	    oldest entries at the size cap); -2 disabled/unknown/failed.
 *	delete(type, id) - 0 deleted; -1 no such entry; -2 disabled/unknown.
 *	tktkey(name) - see ticket_keys.h; T = the smtpd cache timeout.
 *
 *	Caches: smtpd, smtp and lmtp, from <type>_tls_session_cache_database
 *	and <type>_tls_session_cache_timeout. A timeout <= 0 disables the
 *	cache (for smtpd also tickets), 1..119 becomes 120, the maximum is
 *	100 days; a cache is enabled when the timeout is > 0 and the
 *	database is non-empty. The same file for two types is fatal:
 *	BuildTlsmgrService() returns the error "do not use the same TLS
 *	cache file %s for %s and %s", which the daemon passes to log::Fatal.
 *
 *	Expired entries are removed incrementally: Arm() runs a cleanup
 *	pass of every enabled cache at start and then every min(timeout)
 *	seconds; a pass deletes kCleanupBatch rows per event-loop turn and
 *	re-activates itself with a zero timeout while a batch came back
 *	full, so requests interleave with a large cleanup. CleanupStep()
 *	does one such batch for callers that drive their own loop.
 *
 *	Cache updates are committed in batches (cache_store.h): the first
 *	update after a commit arms a timer of kCommitDelayUs (10 ms), and a
 *	batch that reaches kCommitBatch updates is committed after the loop
 *	pass in which it did; Shutdown() commits what is open. The cache is
 *	recreated at every start, so a crash loses nothing that a restart
 *	would have kept; a failed commit loses at most one batch (as an
 *	early eviction would).
 *
 *	Statistics, logged every pftls_tlsmgr_statistics_interval (default
 *	3600s, 0: never) when anything happened since the last report, and
 *	at Shutdown(); counters are cumulative since start:
 *
 *	    statistics: requests seed=N policy=N lookup=N update=N delete=N tktkey=N
 *	    statistics: smtpd cache hits=N miss=N updates=N deletes=N expired=N evictions=N entries=N
 *	    statistics: ticket keys issued=N served=N not_found=N
 *
 *	With <type>_tls_loglevel >= 2 each cache operation of that type is
 *	logged (id and outcome, never session bytes).
 *
 *	Public API:
 *	TlsmgrServiceImpl(caches, tickets, prng, now) - now() returns Unix
 *	    seconds (injectable clock; default time(3)); prng may be null.
 *	Seed/Policy/Lookup/Update/Delete/Tktkey - the six requests.
 *	Start(), Arm(base), Shutdown(), EnteredJail(root).
 *	CleanupStep(max_rows) - rows deleted; LogStatistics().
 *	cache(type) - the store of an enabled cache or nullptr;
 *	tickets(), counters() - for tests and statistics.
 *	BuildTlsmgrService(cfg, now) - the factory, see SYNOPSIS.
 * SECURITY
 *	Not security-sensitive in Postfix's sense, but it serves secrets
 *	(ticket keys, sessions) to whoever reaches private/tlsmgr: the
 *	socket's directory mode is the access control. Nothing is parsed
 *	from cache values; no secret is logged.
 * DIAGNOSTICS
 *	Warnings for rejected requests and store failures; the factory
 *	returns configuration errors for the caller to make fatal.
 * CONFIGURATION PARAMETERS
 *	smtpd_tls_session_cache_database, smtpd_tls_session_cache_timeout,
 *	smtp_tls_session_cache_database, smtp_tls_session_cache_timeout,
 *	lmtp_tls_session_cache_database, lmtp_tls_session_cache_timeout,
 *	smtpd_tls_loglevel, smtp_tls_loglevel, lmtp_tls_loglevel,
 *	tls_random_source, tls_random_bytes, tls_random_exchange_name,
 *	tls_random_reseed_period, tls_random_prng_update_period,
 *	pftls_session_cache_max_entries (default 100000, 0: unlimited),
 *	pftls_ticket_master_key_file (default empty: random keys),
 *	pftls_tlsmgr_statistics_interval (default 3600s, 0: off).
 *--*/
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ipc/tlsmgr_routes.h"
#include "mgr/cache_store.h"
#include "mgr/prng.h"
#include "mgr/ticket_keys.h"
#include "util/config.h"
#include "util/handles.h"

namespace pftls::mgr {

inline constexpr std::array<std::string_view, 3> kCacheTypes = {"smtpd", "smtp", "lmtp"};

// CacheSlot - one cache type: its sanitised timeout and, when enabled, its store.
struct CacheSlot {
  std::string type;
  long timeout = 0;                    // sanitised; 0 = disabled
  int loglevel = 0;                    // <type>_tls_loglevel
  std::unique_ptr<CacheStore> store;   // null: disabled
};

struct RequestCounters {
  uint64_t seed = 0, policy = 0, lookup = 0, update = 0, del = 0, tktkey = 0;
};

class TlsmgrServiceImpl : public ipc::TlsmgrService {
 public:
  using NowFn = std::function<int64_t()>;
  static constexpr size_t kCleanupBatch = 256;
  // Cache updates are committed kCommitDelayUs after the first update of
  // a batch, or after the loop pass in which a batch reached kCommitBatch.
  static constexpr long kCommitDelayUs = 10000;  // < 1 s: a timeval's tv_usec
  static constexpr size_t kCommitBatch = 512;
  static_assert(kCommitDelayUs > 0 && kCommitDelayUs < 1000000);

  TlsmgrServiceImpl(std::array<CacheSlot, 3> caches, TicketKeys tickets, std::unique_ptr<Prng> prng,
                    NowFn now = {}, long statistics_interval = 3600);
  ~TlsmgrServiceImpl() override;

  ipc::SeedReply Seed(const ipc::SeedRequest& req) override;
  ipc::PolicyReply Policy(const ipc::PolicyRequest& req) override;
  ipc::LookupReply Lookup(const ipc::LookupRequest& req) override;
  ipc::StatusReply Update(const ipc::UpdateRequest& req) override;
  ipc::StatusReply Delete(const ipc::DeleteRequest& req) override;
  ipc::TktkeyReply Tktkey(const ipc::TktkeyRequest& req) override;

  void Start();
  Status Arm(event_base* base);
  void Shutdown();
  // EnteredJail - after chroot(root): reach cache files by their jailed names.
  void EnteredJail(std::string_view root);

  size_t CleanupStep(size_t max_rows = kCleanupBatch);
  void LogStatistics();

  CacheStore* cache(std::string_view type);
  const CacheSlot* slot(std::string_view type) const;
  TicketKeys& tickets() { return tickets_; }
  Prng* prng() { return prng_.get(); }
  const RequestCounters& counters() const { return counters_; }

 private:
  CacheSlot* Find(std::string_view type);
  int64_t Now() const { return now_ ? now_() : static_cast<int64_t>(::time(nullptr)); }
  static void CleanupCb(evutil_socket_t, short, void* arg);
  void ScheduleCommit(size_t batched);
  static void FlushCb(evutil_socket_t, short, void* arg);
  static void StatsCb(evutil_socket_t, short, void* arg);
  long CleanupInterval() const;

  std::array<CacheSlot, 3> caches_;
  TicketKeys tickets_;
  std::unique_ptr<Prng> prng_;
  NowFn now_;
  long stats_interval_;
  RequestCounters counters_;
  uint64_t activity_at_last_report_ = 0;
  EventPtr cleanup_ev_;
  EventPtr flush_ev_;
  EventPtr stats_ev_;
};

// SandboxPaths - what Landlock leaves writable (and the entropy file
// readable) after the jail: the directories of the enabled cache files
// and of tls_random_exchange_name, and a dev:/ or plain tls_random_source.
std::vector<std::string> SandboxPaths(const config::Config& cfg);

// BuildTlsmgrService - everything from main.cf, before the jail.
Result<std::unique_ptr<TlsmgrServiceImpl>> BuildTlsmgrService(const config::Config& cfg,
                                                              TlsmgrServiceImpl::NowFn now = {});

}  // namespace pftls::mgr
