/*++
 * NAME
 *	proxy/tlsmgr_link.h - tlsproxy's side of the tlsmgr protocol
 * SYNOPSIS
 *	#include "proxy/tlsmgr_link.h"
 *
 *	TlsmgrLink link(base, options);
 *	link.Start();			// seed + policy, never blocking long
 *	link.Install(ssl_ctx, ticket_cipher);
 *	env.client_hello = [&](TlsSession& s, SSL* ssl) { return link.OnClientHello(s, ssl); };
 * DESCRIPTION
 *	At start: a `seed` request (tls_daemon_random_bytes, mixed into
 *	OpenSSL's pool) and a `policy` request for the `smtpd` cache, each
 *	with a short deadline. When tlsmgr does not answer, TLS stays on:
 *	the session-id cache is off and tickets use keys fetched later.
 *
 *	Tickets (RFC 5077): keys come from `tktkey` into a two-slot
 *	TicketKeyCache. The current key is fetched asynchronously at start,
 *	again when it stops encrypting (a timer at its tout), and whenever
 *	a handshake finds no key. A handshake that starts while the
 *	current key is being fetched and none is known yet (a fresh
 *	process) waits for that one fetch (the request deadline bounds it;
 *	never while tlsmgr is down), so the first clients of a new
 *	tlsproxy get tickets too; otherwise a handshake never waits for the
 *	current key: without one it simply issues no ticket.
 *
 *	ClientHello hook: when the client offers a ticket whose key name is
 *	unknown, the handshake pauses while the key is fetched by name; when
 *	it offers a TLS <= 1.2 session id and the cache is enabled, it
 *	pauses while the session is looked up. Every request has a deadline
 *	of at most one second. A failure or timeout marks tlsmgr down: from
 *	then on no handshake waits for it (none pauses, none waits for a
 *	key) until a request succeeds again. Two seconds after the failure
 *	(the breaker) the next handshake sends a key fetch that nobody
 *	waits for, as a probe; its answer ends the outage. So a stopped or
 *	dead tlsmgr costs each process one deadline and then resumption
 *	only, never a failed or hung handshake.
 *
 *	New TLS <= 1.2 sessions with a session id are stored with `update`
 *	(TLS 1.3 sessions live in their tickets only) and stale ones removed
 *	with `delete`, without waiting for the answer.
 * SECURITY
 *	Replies are strictly decoded and validated (ipc/); session bytes are
 *	parsed by OpenSSL only after the DER size check; keys are never
 *	logged.
 * DIAGNOSTICS
 *	"warning: tlsmgr unavailable (...): continuing without session
 *	resumption" once per outage, and its recovery.
 * CONFIGURATION PARAMETERS
 *	tlsmgr_service_name, tls_daemon_random_bytes,
 *	smtpd_tls_session_cache_timeout (through LinkOptions).
 *--*/
#pragma once

#include <event2/event.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ipc/client_async.h"
#include "proxy/ticket_cache.h"
#include "proxy/tls_session.h"
#include "tls/client_hello.h"

namespace pftls::proxy {

struct LinkOptions {
  std::string socket_path = "private/tlsmgr";
  std::chrono::milliseconds deadline{1000};
  std::chrono::seconds breaker{2};  // recovery after an outage: <= breaker + deadline
  int seed_bytes = 32;
  long cache_timeout = 3600;  // T, already sanitised
};

class TlsmgrLink {
 public:
  TlsmgrLink(event_base* base, LinkOptions options);
  ~TlsmgrLink();

  // Start - seed and policy (blocking, each bounded by the deadline).
  void Start();
  // Install - ticket keys and, when tlsmgr enables it, the session cache.
  void Install(SSL_CTX* ctx, const EVP_CIPHER* ticket_cipher);
  bool OnClientHello(TlsSession& s, SSL* ssl);

  bool cache_enabled() const { return cache_enabled_; }
  TicketKeyCache& keys() { return keys_; }
  // Counters for the statistics line and tests.
  struct Stats {
    uint64_t key_fetches = 0, lookups = 0, lookup_hits = 0, updates = 0, failures = 0, skipped = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  bool Available() const;
  void Failed(const std::string& why);
  void Succeeded();
  void FetchCurrentKey();
  void FetchKeyByName(const tls::TicketName& name, TlsSession& s);
  void Lookup(const std::string& id, TlsSession& s);
  void ScheduleRefresh();
  static int NewSessionCb(SSL* ssl, SSL_SESSION* sess);
  static SSL_SESSION* GetSessionCb(SSL* ssl, const unsigned char* id, int len, int* copy);
  static void RemoveSessionCb(SSL_CTX* ctx, SSL_SESSION* sess);
  static TlsmgrLink* FromCtx(SSL_CTX* ctx);
  bool RecentlyUnknown(const tls::TicketName& name, time_t now) const;
  void RememberUnknown(const tls::TicketName& name, time_t now);

  event_base* base_;
  LinkOptions opts_;
  std::unique_ptr<ipc::AsyncClient> client_;
  TicketKeyCache keys_;
  EventPtr refresh_;
  bool cache_enabled_ = false;
  bool fetching_current_ = false;
  bool ticket_keys_ = false;  // tickets are on (Install had a cipher)
  // Handshakes paused until the in-flight current-key fetch answers.
  std::vector<std::pair<std::weak_ptr<int>, TlsSession*>> key_waiters_;
  bool down_ = false;
  std::chrono::steady_clock::time_point down_until_{};
  Stats stats_;
  // Ticket key names tlsmgr did not know, for kUnknownNameTtl seconds.
  std::deque<std::pair<tls::TicketName, time_t>> unknown_names_;
};

inline constexpr size_t kMaxUnknownNames = 64;
inline constexpr time_t kUnknownNameTtl = 60;

}  // namespace pftls::proxy
