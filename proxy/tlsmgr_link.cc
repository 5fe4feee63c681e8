// proxy/tlsmgr_link.cc - see proxy/tlsmgr_link.h.
#include "proxy/tlsmgr_link.h"

#include <openssl/rand.h>

#include <cstring>
#include <set>

#include "ipc/client_sync.h"
#include "ipc/msg_announce.h"
#include "ipc/msg_tlsmgr.h"
#include "tls/session.h"
#include "util/log.h"

namespace pftls::proxy {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kCacheType = "smtpd";

// Hook states kept in TlsSession::hook_state().
enum HookState { kFresh = 0, kKeyDone = 1, kAllDone = 2 };
constexpr int kWaitedForCurrent = 4;  // flag beside the HookState: waited once already

// Serverids seen in requests, interned so SSL_SESSION ex_data can point at
// them for the whole process lifetime (bounded: more distinct ids than this
// simply skip the delete, which tlsmgr's expiry makes up for).
const std::string* InternServerId(const std::string& id) {
  static std::set<std::string> ids;
  if (ids.size() >= 64 && !ids.count(id)) return nullptr;
  return &*ids.insert(id).first;
}

int SessionServerIdIndex() {
  static int index = SSL_SESSION_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int CtxIndex() {
  static int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

tls::TicketKey ToTlsKey(const ipc::TicketKey& k) {
  tls::TicketKey out;
  out.name = k.name;
  std::memcpy(out.cipher_key.data(), k.bits.data(), tls::kTicketCipherKeyLen);
  std::memcpy(out.hmac_key.data(), k.hmac.data(), tls::kTicketHmacKeyLen);
  out.tout = static_cast<time_t>(k.tout);
  return out;
}

}  // namespace

TlsmgrLink::TlsmgrLink(event_base* base, LinkOptions options)
    : base_(base), opts_(std::move(options)), keys_(opts_.cache_timeout) {
  ipc::AsyncClientOptions ao;
  ao.path = opts_.socket_path;
  ao.protocol = std::string(ipc::kTlsmgrProtocol);
  ao.timeout = opts_.deadline;
  ao.attempts = 2;  // one reconnect, inside the same deadline
  // Each reconnect after the jail uses one reserved socket (tlsproxy(8)):
  // keep an idle connection instead of closing it after ipc_idle.
  ao.idle_timeout = std::chrono::hours(1);
  client_ = std::make_unique<ipc::AsyncClient>(base_, ao);
  refresh_.reset(evtimer_new(base_, [](evutil_socket_t, short, void* arg) {
    static_cast<TlsmgrLink*>(arg)->FetchCurrentKey();
  }, this));
  keys_.set_on_miss([this] { FetchCurrentKey(); });
}

TlsmgrLink::~TlsmgrLink() = default;

TlsmgrLink* TlsmgrLink::FromCtx(SSL_CTX* ctx) { return static_cast<TlsmgrLink*>(SSL_CTX_get_ex_data(ctx, CtxIndex())); }

void TlsmgrLink::Start() {
  ipc::SyncClientOptions so;
  so.path = opts_.socket_path;
  so.protocol = std::string(ipc::kTlsmgrProtocol);
  so.timeout = opts_.deadline;
  so.attempts = 1;
  ipc::SyncClient sync(so);
  auto seed = sync.Request(ipc::SeedRequest{static_cast<uint32_t>(opts_.seed_bytes)});
  if (seed && seed->status == ipc::kStatOk) {
    RAND_add(seed->seed.data(), static_cast<int>(seed->seed.size()), static_cast<double>(seed->seed.size()));
  } else {
    Failed(seed ? "seed request failed" : seed.error());
    return;  // do not wait for a second timeout on policy
  }
  auto policy = sync.Request(ipc::PolicyRequest{kCacheType});
  if (policy && policy->status == ipc::kStatOk) {
    cache_enabled_ = policy->cachable != 0;
  } else {
    Failed(policy ? "policy request failed" : policy.error());
  }
}

void TlsmgrLink::Install(SSL_CTX* ctx, const EVP_CIPHER* ticket_cipher) {
  SSL_CTX_set_ex_data(ctx, CtxIndex(), this);
  TlsSession::InstallClientHelloHook(ctx);
  if (ticket_cipher) {
    ticket_keys_ = tls::InstallTicketKeys(ctx, ticket_cipher, &keys_);
    FetchCurrentKey();
  }
  if (cache_enabled_) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL |
                                            SSL_SESS_CACHE_NO_AUTO_CLEAR);
    SSL_CTX_sess_set_new_cb(ctx, NewSessionCb);
    SSL_CTX_sess_set_get_cb(ctx, GetSessionCb);
    SSL_CTX_sess_set_remove_cb(ctx, RemoveSessionCb);
  }
}

bool TlsmgrLink::Available() const { return !down_ || Clock::now() >= down_until_; }

void TlsmgrLink::Failed(const std::string& why) {
  ++stats_.failures;
  if (!down_) log::Warn("tlsmgr unavailable (%s): continuing without session resumption", why.c_str());
  down_ = true;
  down_until_ = Clock::now() + opts_.breaker;
}

void TlsmgrLink::Succeeded() {
  if (down_) log::Info("tlsmgr available again");
  down_ = false;
}

void TlsmgrLink::ScheduleRefresh() {
  time_t tout = keys_.NextRefresh();
  time_t now = time(nullptr);
  long wait = tout > now ? static_cast<long>(tout - now) + 1 : static_cast<long>(opts_.breaker.count());
  timeval tv{wait, 0};
  evtimer_add(refresh_.get(), &tv);
}

void TlsmgrLink::FetchCurrentKey() {
  if (fetching_current_) return;
  if (!Available()) {
    if (!evtimer_pending(refresh_.get(), nullptr)) ScheduleRefresh();
    return;
  }
  fetching_current_ = true;
  ++stats_.key_fetches;
  client_->Request(ipc::TktkeyRequest{}, [this](Result<ipc::TktkeyReply> r) {
    fetching_current_ = false;
    if (!r) {
      Failed(r.error());
    } else {
      Succeeded();  // tlsmgr answered, whatever the status
      if (r->status == ipc::kStatOk) {
        auto key = ipc::TicketKey::Parse(r->keybuf.span());
        if (key) keys_.Insert(ToTlsKey(*key));
      }
    }
    ScheduleRefresh();
    auto waiters = std::move(key_waiters_);
    key_waiters_.clear();
    for (auto& [alive, session] : waiters)
      if (!alive.expired()) session->Resume();
  });
}

void TlsmgrLink::FetchKeyByName(const tls::TicketName& name, TlsSession& s) {
  ++stats_.key_fetches;
  std::weak_ptr<int> alive = s.Liveness();
  TlsSession* sp = &s;
  client_->Request(ipc::TktkeyRequest{std::string(reinterpret_cast<const char*>(name.data()), name.size())},
                   [this, alive, sp, name](Result<ipc::TktkeyReply> r) {
                     if (!r) Failed(r.error());
                     else Succeeded();
                     if (r && r->status == ipc::kStatOk) {
                       auto key = ipc::TicketKey::Parse(r->keybuf.span());
                       if (key) keys_.Insert(ToTlsKey(*key));
                     } else if (r && r->status == ipc::kStatErr) {
                       RememberUnknown(name, time(nullptr));
                     }
                     if (!alive.expired()) sp->Resume();
                   });
}

void TlsmgrLink::Lookup(const std::string& id, TlsSession& s) {
  ++stats_.lookups;
  std::weak_ptr<int> alive = s.Liveness();
  TlsSession* sp = &s;
  client_->Request(ipc::LookupRequest{kCacheType, id}, [this, alive, sp](Result<ipc::LookupReply> r) {
    if (!r) Failed(r.error());
    else Succeeded();
    if (alive.expired()) return;
    if (r && r->status == ipc::kStatOk) {
      sp->pending_session() = tls::ParseSession(r->session.data(), r->session.size());
      if (sp->pending_session()) ++stats_.lookup_hits;
    }
    sp->Resume();
  });
}

bool TlsmgrLink::OnClientHello(TlsSession& s, SSL* ssl) {
  int& flags = s.hook_state();
  int st = flags & ~kWaitedForCurrent;
  struct Save {  // write the progress back on every return
    int& flags;
    int& st;
    ~Save() { flags = (flags & kWaitedForCurrent) | st; }
  } save{flags, st};
  if (st == kAllDone) return true;
  if (down_) {
    // tlsmgr failed and has not answered since: no handshake waits for it
    // (each would pay a deadline). Once the breaker has elapsed, a key
    // fetch nobody waits for probes it; its answer ends the outage.
    FetchCurrentKey();
    ++stats_.skipped;
    st = kAllDone;
    return true;
  }
  time_t now = time(nullptr);
  // A fresh process: wait (once, bounded) for the current key so that
  // this handshake can issue a ticket.
  if (ticket_keys_ && !(flags & kWaitedForCurrent) && !keys_.HasCurrent(now)) {
    FetchCurrentKey();
    if (fetching_current_) {
      flags |= kWaitedForCurrent;
      key_waiters_.emplace_back(s.Liveness(), &s);
      return false;
    }
  }
  std::optional<tls::TicketName> name = tls::OfferedTicketKeyName(ssl);
  if (st == kFresh) {
    st = kKeyDone;
    if (name && !keys_.Knows(name->data(), now) && !RecentlyUnknown(*name, now)) {
      FetchKeyByName(*name, s);
      return false;  // resumed by the reply or its deadline
    }
  }
  st = kAllDone;
  // TLS <= 1.2 session-id resumption: only without a ticket and without TLS 1.3.
  if (cache_enabled_ && !name && !tls::OffersTls13(ssl)) {
    std::string_view sid = tls::OfferedSessionId(ssl);
    if (!sid.empty()) {
      Lookup(tls::ServerCacheId(reinterpret_cast<const unsigned char*>(sid.data()), sid.size(),
                                s.params().serverid),
             s);
      return false;
    }
  }
  return true;
}

bool TlsmgrLink::RecentlyUnknown(const tls::TicketName& name, time_t now) const {
  for (const auto& [n, expiry] : unknown_names_)
    if (n == name && expiry > now) return true;
  return false;
}

void TlsmgrLink::RememberUnknown(const tls::TicketName& name, time_t now) {
  while (!unknown_names_.empty() && (unknown_names_.size() >= kMaxUnknownNames || unknown_names_.front().second <= now))
    unknown_names_.pop_front();
  unknown_names_.emplace_back(name, now + kUnknownNameTtl);
}

int TlsmgrLink::NewSessionCb(SSL* ssl, SSL_SESSION* sess) {
  TlsmgrLink* link = FromCtx(SSL_get_SSL_CTX(ssl));
  TlsSession* s = TlsSession::FromSsl(ssl);
  if (!link || !s || !link->Available()) return 0;
  // TLS 1.3 resumes only through the ticket (stateless, keys from tlsmgr);
  // a server-side entry for its dummy session id would never be looked
  // up (OnClientHello asks tlsmgr only for TLS <= 1.2 session ids), and
  // storing it cost an update round trip per full handshake.
  if (SSL_version(ssl) >= TLS1_3_VERSION) return 0;
  unsigned int len = 0;
  const unsigned char* sid = SSL_SESSION_get_id(sess, &len);
  if (len == 0) return 0;
  auto der = tls::SerializeSession(sess);
  if (!der) return 0;
  ipc::UpdateRequest req;
  req.cache_type = kCacheType;
  req.cache_id = tls::ServerCacheId(sid, len, s->params().serverid);
  if (const std::string* id = InternServerId(s->params().serverid))
    SSL_SESSION_set_ex_data(sess, SessionServerIdIndex(), const_cast<std::string*>(id));
  req.session = SecretBytes(der->data(), der->size());
  OPENSSL_cleanse(der->data(), der->size());
  ++link->stats_.updates;
  link->client_->Request(req, [link](Result<ipc::StatusReply> r) {
    if (!r) link->Failed(r.error());
  });
  return 0;  // we keep no reference
}

SSL_SESSION* TlsmgrLink::GetSessionCb(SSL* ssl, const unsigned char*, int, int* copy) {
  *copy = 0;
  TlsSession* s = TlsSession::FromSsl(ssl);
  if (!s) return nullptr;
  return s->pending_session().release();  // OpenSSL takes this reference
}

void TlsmgrLink::RemoveSessionCb(SSL_CTX* ctx, SSL_SESSION* sess) {
  TlsmgrLink* link = FromCtx(ctx);
  if (!link || !link->Available()) return;
  auto* serverid = static_cast<const std::string*>(SSL_SESSION_get_ex_data(sess, SessionServerIdIndex()));
  unsigned int len = 0;
  const unsigned char* sid = SSL_SESSION_get_id(sess, &len);
  if (len == 0 || !serverid) return;
  link->client_->Request(ipc::DeleteRequest{kCacheType, tls::ServerCacheId(sid, len, *serverid)},
                         [](Result<ipc::StatusReply>) {});
}

}  // namespace pftls::proxy
