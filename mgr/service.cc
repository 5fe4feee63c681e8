// mgr/service.cc - see mgr/service.h.
#include "mgr/service.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <ctime>

#include "util/log.h"

namespace pftls::mgr {
namespace {

std::string Printable(std::string_view s) {
  std::string out(s.substr(0, 256));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return out;
}

void AddTimer(event* ev, long seconds) {
  timeval tv{seconds, 0};
  evtimer_add(ev, &tv);
}

}  // namespace

TlsmgrServiceImpl::TlsmgrServiceImpl(std::array<CacheSlot, 3> caches, TicketKeys tickets,
                                     std::unique_ptr<Prng> prng, NowFn now, long statistics_interval)
    : caches_(std::move(caches)),
      tickets_(std::move(tickets)),
      prng_(std::move(prng)),
      now_(std::move(now)),
      stats_interval_(statistics_interval) {}

TlsmgrServiceImpl::~TlsmgrServiceImpl() {
  cleanup_ev_.reset();
  stats_ev_.reset();
}

CacheSlot* TlsmgrServiceImpl::Find(std::string_view type) {
  for (CacheSlot& s : caches_)
    if (s.type == type) return &s;
  return nullptr;
}

const CacheSlot* TlsmgrServiceImpl::slot(std::string_view type) const {
  for (const CacheSlot& s : caches_)
    if (s.type == type) return &s;
  return nullptr;
}

CacheStore* TlsmgrServiceImpl::cache(std::string_view type) {
  CacheSlot* s = Find(type);
  return s ? s->store.get() : nullptr;
}

ipc::SeedReply TlsmgrServiceImpl::Seed(const ipc::SeedRequest& req) {
  counters_.seed++;
  if (req.size < ipc::kSeedMin || req.size > ipc::kSeedMax) {
    log::Warn("bogus seed length \"%u\" in \"seed\" request", req.size);
    return ipc::SeedReply::Fail();
  }
  SecretBytes seed(req.size);
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) {
    log::Warn("seed request: RAND_bytes failed");
    return ipc::SeedReply::Fail();
  }
  return {ipc::kStatOk, std::move(seed)};
}

ipc::PolicyReply TlsmgrServiceImpl::Policy(const ipc::PolicyRequest& req) {
  counters_.policy++;
  const CacheSlot* s = Find(req.cache_type);
  if (!s) {
    log::Warn("bogus cache type \"%s\" in \"policy\" request", Printable(req.cache_type).c_str());
    return ipc::PolicyReply::Fail();
  }
  return {ipc::kStatOk, s->store ? 1u : 0u, static_cast<uint32_t>(s->timeout)};
}

ipc::LookupReply TlsmgrServiceImpl::Lookup(const ipc::LookupRequest& req) {
  counters_.lookup++;
  CacheSlot* s = Find(req.cache_type);
  if (!s) {
    log::Warn("bogus cache type \"%s\" in \"lookup\" request", Printable(req.cache_type).c_str());
    return ipc::LookupReply::Fail();
  }
  if (!s->store || req.cache_id.empty()) return ipc::LookupReply::Fail();
  SecretBytes session;
  CacheStore::Found f = s->store->Lookup(req.cache_id, Now(), &session);
  if (s->loglevel >= 2)
    log::Info("%s cache lookup id=%s: %s", s->type.c_str(), Printable(req.cache_id).c_str(),
              f == CacheStore::Found::kFound ? "found" : f == CacheStore::Found::kNotFound ? "not found" : "failed");
  switch (f) {
    case CacheStore::Found::kFound:
      return {ipc::kStatOk, std::move(session)};
    case CacheStore::Found::kNotFound:
      return {ipc::kStatErr, {}};
    case CacheStore::Found::kFailed:
      break;
  }
  return ipc::LookupReply::Fail();
}

ipc::StatusReply TlsmgrServiceImpl::Update(const ipc::UpdateRequest& req) {
  counters_.update++;
  CacheSlot* s = Find(req.cache_type);
  if (!s) {
    log::Warn("bogus cache type \"%s\" in \"update\" request", Printable(req.cache_type).c_str());
    return ipc::StatusReply::Fail();
  }
  if (!s->store || req.cache_id.empty() || req.session.empty()) return ipc::StatusReply::Fail();
  int st = s->store->Update(req.cache_id, req.session.span(), Now());
  if (size_t n = s->store->batched(); n > 0 && flush_ev_) ScheduleCommit(n);
  if (s->loglevel >= 2)
    log::Info("%s cache update id=%s size=%zu: status=%d", s->type.c_str(), Printable(req.cache_id).c_str(),
              req.session.size(), st);
  return {st};
}

ipc::StatusReply TlsmgrServiceImpl::Delete(const ipc::DeleteRequest& req) {
  counters_.del++;
  CacheSlot* s = Find(req.cache_type);
  if (!s) {
    log::Warn("bogus cache type \"%s\" in \"delete\" request", Printable(req.cache_type).c_str());
    return ipc::StatusReply::Fail();
  }
  if (!s->store || req.cache_id.empty()) return ipc::StatusReply::Fail();
  int st = s->store->Delete(req.cache_id);
  if (s->loglevel >= 2)
    log::Info("%s cache delete id=%s: status=%d", s->type.c_str(), Printable(req.cache_id).c_str(), st);
  return {st};
}

ipc::TktkeyReply TlsmgrServiceImpl::Tktkey(const ipc::TktkeyRequest& req) {
  counters_.tktkey++;
  TicketKeys::Answer a = tickets_.Get(req.keyname, Now());
  return {a.status, std::move(a.keybuf)};
}

size_t TlsmgrServiceImpl::CleanupStep(size_t max_rows) {
  size_t total = 0;
  int64_t now = Now();
  for (CacheSlot& s : caches_)
    if (s.store) total += s.store->CleanupStep(now, max_rows);
  return total;
}

long TlsmgrServiceImpl::CleanupInterval() const {
  long best = 0;
  for (const CacheSlot& s : caches_)
    if (s.store && (best == 0 || s.timeout < best)) best = s.timeout;
  return best;
}

void TlsmgrServiceImpl::Start() {
  if (prng_) prng_->Start();
}

Status TlsmgrServiceImpl::Arm(event_base* base) {
  if (prng_) {
    if (Status s = prng_->Arm(base); !s) return s;
  }
  // Batched commits (cache_store.h): the first update of a batch arms
  // the commit timer; a full batch commits after this loop pass.
  flush_ev_.reset(evtimer_new(base, &TlsmgrServiceImpl::FlushCb, this));
  if (!flush_ev_) return MakeError("cannot create the cache commit event");
  for (CacheSlot& s : caches_)
    if (s.store) s.store->SetDeferredCommit(true);
  if (CleanupInterval() > 0) {
    cleanup_ev_.reset(evtimer_new(base, &TlsmgrServiceImpl::CleanupCb, this));
    if (!cleanup_ev_) return MakeError("cannot create the cache cleanup timer");
    AddTimer(cleanup_ev_.get(), 0);
  }
  if (stats_interval_ > 0) {
    stats_ev_.reset(evtimer_new(base, &TlsmgrServiceImpl::StatsCb, this));
    if (!stats_ev_) return MakeError("cannot create the statistics timer");
    AddTimer(stats_ev_.get(), stats_interval_);
  }
  return Status::Ok();
}

void TlsmgrServiceImpl::CleanupCb(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<TlsmgrServiceImpl*>(arg);
  size_t most = 0;
  int64_t now = self->Now();
  for (CacheSlot& s : self->caches_)
    if (s.store) most = std::max(most, s.store->CleanupStep(now, kCleanupBatch));
  // A full batch: more may be waiting; continue on the next loop turn.
  AddTimer(self->cleanup_ev_.get(), most >= kCleanupBatch ? 0 : self->CleanupInterval());
}

void TlsmgrServiceImpl::ScheduleCommit(size_t batched) {
  event* ev = flush_ev_.get();
  if (batched >= kCommitBatch) {
    event_active(ev, EV_TIMEOUT, 0);  // after the other ready callbacks of this pass
  } else if (!evtimer_pending(ev, nullptr)) {  // the batch's first update (of any cache)
    timeval tv{0, kCommitDelayUs};
    evtimer_add(ev, &tv);
  }
}

void TlsmgrServiceImpl::FlushCb(evutil_socket_t, short, void* arg) {
  for (CacheSlot& s : static_cast<TlsmgrServiceImpl*>(arg)->caches_)
    if (s.store) s.store->Commit();
}

void TlsmgrServiceImpl::StatsCb(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<TlsmgrServiceImpl*>(arg);
  self->LogStatistics();
  AddTimer(self->stats_ev_.get(), self->stats_interval_);
}

void TlsmgrServiceImpl::LogStatistics() {
  const RequestCounters& c = counters_;
  uint64_t activity = c.seed + c.policy + c.lookup + c.update + c.del + c.tktkey;
  if (activity == activity_at_last_report_) return;
  activity_at_last_report_ = activity;
  log::Info("statistics: requests seed=%llu policy=%llu lookup=%llu update=%llu delete=%llu tktkey=%llu",
            static_cast<unsigned long long>(c.seed), static_cast<unsigned long long>(c.policy),
            static_cast<unsigned long long>(c.lookup), static_cast<unsigned long long>(c.update),
            static_cast<unsigned long long>(c.del), static_cast<unsigned long long>(c.tktkey));
  for (const CacheSlot& s : caches_) {
    if (!s.store) continue;
    const CacheStats& st = s.store->stats();
    log::Info("statistics: %s cache hits=%llu miss=%llu updates=%llu deletes=%llu expired=%llu evictions=%llu "
              "entries=%lld",
              s.type.c_str(), static_cast<unsigned long long>(st.hits), static_cast<unsigned long long>(st.misses),
              static_cast<unsigned long long>(st.updates), static_cast<unsigned long long>(st.deletes),
              static_cast<unsigned long long>(st.expired), static_cast<unsigned long long>(st.evictions),
              static_cast<long long>(s.store->entries()));
  }
  const TicketKeys::Stats& t = tickets_.stats();
  log::Info("statistics: ticket keys issued=%llu served=%llu not_found=%llu",
            static_cast<unsigned long long>(t.issued), static_cast<unsigned long long>(t.served),
            static_cast<unsigned long long>(t.not_found));
}

void TlsmgrServiceImpl::Shutdown() {
  FlushCb(-1, 0, this);
  flush_ev_.reset();
  cleanup_ev_.reset();
  stats_ev_.reset();
  LogStatistics();
  if (prng_) prng_->Shutdown();
}

void TlsmgrServiceImpl::EnteredJail(std::string_view root) {
  std::string r(root);
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (r.empty() || r == "/") return;
  for (CacheSlot& s : caches_) {
    if (!s.store) continue;
    const std::string& p = s.store->path();
    if (p.size() > r.size() && p.compare(0, r.size(), r) == 0 && p[r.size()] == '/')
      s.store->SetPath(p.substr(r.size()));
    else
      log::Warn("%s TLS session cache %s is outside the chroot jail %s; it cannot be recreated at run time",
                s.type.c_str(), p.c_str(), r.c_str());
  }
}

// ---- factory ----

namespace {

Result<long> NonNegativeLong(const config::Config& cfg, const char* name, long dflt) {
  Result<std::string> v = cfg.TryStr(name);
  if (!v) return MakeError(v.error());
  if (v->empty()) return dflt;
  errno = 0;
  char* end = nullptr;
  long n = std::strtol(v->c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || n < 0)
    return MakeError(std::string("bad numerical value for parameter ") + name + ": \"" + *v + "\"");
  return n;
}

Result<long> OptionalTime(const config::Config& cfg, const char* name, long dflt) {
  Result<std::string> v = cfg.TryStr(name);
  if (!v) return MakeError(v.error());
  if (v->empty()) return dflt;
  Result<long> t = config::ParseTimeValue(*v, 's');
  if (!t || *t < 0) return MakeError(std::string("bad time value for parameter ") + name + ": \"" + *v + "\"");
  return t;
}

}  // namespace

Result<std::unique_ptr<TlsmgrServiceImpl>> BuildTlsmgrService(const config::Config& cfg,
                                                              TlsmgrServiceImpl::NowFn now) {
  Result<long> max_entries = NonNegativeLong(cfg, "pftls_session_cache_max_entries", 100000);
  if (!max_entries) return MakeError(max_entries.error());
  Result<long> stats_interval = OptionalTime(cfg, "pftls_tlsmgr_statistics_interval", 3600);
  if (!stats_interval) return MakeError(stats_interval.error());

  // Configure the three caches; refuse one file for two types.
  std::array<CacheSlot, 3> slots;
  std::array<std::string, 3> files;
  for (size_t i = 0; i < kCacheTypes.size(); i++) {
    std::string type(kCacheTypes[i]);
    Result<std::string> db = cfg.TryStr(type + "_tls_session_cache_database");
    if (!db) return MakeError(db.error());
    Result<long> timeout = cfg.TryTime(type + "_tls_session_cache_timeout");
    if (!timeout) return MakeError(timeout.error());
    Result<long> level = cfg.TryLong(type + "_tls_loglevel");
    slots[i].type = type;
    slots[i].timeout = config::SanitizeCacheTimeout(*timeout);
    slots[i].loglevel = level ? static_cast<int>(std::clamp(*level, 0L, 4L)) : 0;
    if (slots[i].timeout <= 0 || db->empty()) continue;
    Result<std::string> file = MapCacheDatabase(*db);
    if (!file) return MakeError(file.error());
    for (size_t j = 0; j < i; j++)
      if (!files[j].empty() && files[j] == *file)
        return MakeError("do not use the same TLS cache file " + *file + " for " + slots[j].type + " and " + type);
    files[i] = *file;
  }
  for (size_t i = 0; i < slots.size(); i++) {
    if (files[i].empty()) continue;
    CacheStoreOptions o{slots[i].type, files[i], slots[i].timeout, *max_entries};
    Result<std::unique_ptr<CacheStore>> st = CacheStore::Open(o);
    if (!st) return MakeError("cannot open " + slots[i].type + " TLS session cache: " + st.error());
    slots[i].store = std::move(*st);
  }

  // Ticket keys: T is the smtpd cache timeout (0: tickets off).
  SecretBytes master;
  Result<std::string> master_file = cfg.TryStr("pftls_ticket_master_key_file");
  if (!master_file) return MakeError(master_file.error());
  if (!master_file->empty()) {
    Result<SecretBytes> m = ReadTicketMasterKey(*master_file);
    if (!m) return MakeError(m.error());
    master = std::move(*m);
  }
  TicketKeys tickets(slots[0].timeout, std::move(master));

  // PRNG.
  PrngOptions po;
  Result<std::string> src = cfg.TryStr("tls_random_source");
  Result<long> bytes = cfg.TryLong("tls_random_bytes");
  Result<std::string> exch = cfg.TryStr("tls_random_exchange_name");
  Result<long> reseed = cfg.TryTime("tls_random_reseed_period");
  Result<long> update = cfg.TryTime("tls_random_prng_update_period");
  for (const std::string* e : {&src.error(), &bytes.error(), &exch.error(), &reseed.error(), &update.error()})
    if (!e->empty()) return MakeError(*e);
  po.source = *src;
  po.random_bytes = static_cast<int>(std::clamp(*bytes, 1L, 255L));
  po.exchange = *exch;
  po.reseed_period = *reseed;
  po.update_period = *update;
  std::unique_ptr<Prng> prng = Prng::Open(std::move(po));

  return std::make_unique<TlsmgrServiceImpl>(std::move(slots), std::move(tickets), std::move(prng), std::move(now),
                                             *stats_interval);
}

std::vector<std::string> SandboxPaths(const config::Config& cfg) {
  std::vector<std::string> out;
  auto dir_of = [&](const std::string& file) {
    size_t slash = file.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : file.substr(0, slash);
    if (std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(dir);
  };
  for (std::string_view t : kCacheTypes) {
    std::string type(t);
    Result<std::string> db = cfg.TryStr(type + "_tls_session_cache_database");
    Result<long> timeout = cfg.TryTime(type + "_tls_session_cache_timeout");
    if (!db || db->empty() || !timeout || *timeout <= 0) continue;
    if (Result<std::string> file = MapCacheDatabase(*db)) dir_of(*file);
  }
  Result<std::string> exch = cfg.TryStr("tls_random_exchange_name");
  if (exch && !exch->empty()) dir_of(*exch);
  Result<std::string> src = cfg.TryStr("tls_random_source");
  if (src && src->rfind("dev:", 0) == 0) out.push_back(src->substr(4));
  else if (src && !src->empty() && (*src)[0] == '/') out.push_back(*src);
  return out;
}

}  // namespace pftls::mgr
