/*++
 * NAME
 *	proxy/handoff.h - the tlsproxy hand-off server (Postfix 3.6-3.11 form)
 * SYNOPSIS
 *	#include "proxy/handoff.h"
 *
 *	HandoffServer hs(base, env);
 *	hs.Accept(std::move(conn_fd));	// a new private/tlsproxy connection
 *	hs.active();			// connections + sessions still open
 * DESCRIPTION
 *	For each connection (spec §3.2, §4.3):
 *	S0 send "protocol=tlsproxy_protocol"; S1 read the request record
 *	(remote_endpoint, flags, timeout, timeout, serverid [, pftls_flags] [, pftls_alpn])
 *	strictly, log "CONNECT from <endpoint>", reply "status=1" when the
 *	server role was asked for and a server context exists, else
 *	"status=0" and wait for the peer to hang up (S1b); S2 receive the
 *	client socket (SCM_RIGHTS, one NUL byte; with the pftls early
 *	hand-off it came with the request, ipc/msg_tlsproxy.h); then a TlsSession runs
 *	the handshake and the relay with this connection as its plaintext
 *	side (with pftls_flags kPftlsDirectRelay: its control connection,
 *	the backend socket comes later; ipc/msg_tlsproxy.h). Each pre-handshake wait is bounded by init_timeout (100 s).
 *	"DISCONNECT <endpoint>" is logged when a connected session ends.
 *
 *	Connections and sessions are owned here; they are destroyed on the
 *	next event-loop pass after they finish, never from inside their own
 *	callbacks. Each holds the skeleton's Lease until it ends, so a
 *	draining process exits when the last one is gone.
 * SECURITY
 *	The plaintext peer (postscreen, smtpfront) is trusted only as far as
 *	the private/ socket mode allows: every record is bounded and strictly
 *	decoded, a violation drops that connection with one log line.
 * DIAGNOSTICS
 *	"bad request flags: 0x%x", "malformed request from ...", "CONNECT
 *	from ...", "DISCONNECT ...", and TlsSession's messages.
 * CONFIGURATION PARAMETERS
 *	Through HandoffEnv: the server context, loglevel, fingerprint digest.
 *--*/
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "ipc/fdpass.h"
#include "proxy/tls_session.h"
#include "tls/policy.h"
#include "util/daemon.h"
#include "util/fd.h"
#include "util/handles.h"

namespace pftls::proxy {

inline constexpr std::chrono::seconds kInitTimeout{100};

struct HandoffEnv {
  SSL_CTX* ctx = nullptr;  // nullptr: TLS not available (status 0)
  tls::TlsLevel level = tls::TlsLevel::kNone;
  int loglevel = 0;
  const EVP_MD* fingerprint_md = nullptr;
  std::chrono::seconds init_timeout = kInitTimeout;
  // client_hello - passed to every session (tlsmgr lookups).
  std::function<bool(TlsSession&, SSL*)> client_hello;
  // on_session - counts handshakes etc. (optional).
  std::function<void(const TlsSession&)> on_session_end;
};

class HandoffServer {
 public:
  HandoffServer(event_base* base, HandoffEnv env);
  ~HandoffServer();
  HandoffServer(const HandoffServer&) = delete;
  HandoffServer& operator=(const HandoffServer&) = delete;

  // Accept - a new connection; lease (the skeleton's count of this
  // connection) is held until the connection or its session ends.
  void Accept(UniqueFd conn, daemon::Lease lease = {});
  size_t active() const { return conns_.size() + sessions_.size(); }

 private:
  class Conn;
  friend class Conn;
  // prelude - early hand-off: announcement and status, sent ahead of the
  // context list.
  void StartSession(Conn* conn, UniqueFd plaintext, UniqueFd ciphertext, std::string prelude);
  // RecvFd - receive a descriptor passed on fd (a client socket, a
  // direct-relay backend socket) without letting the kernel drop it at
  // the descriptor limit: the spare is given up for it and taken again
  // after; with no slot free, *at_limit is set and nothing is read.
  Result<std::optional<UniqueFd>> RecvFd(int fd, bool* at_limit);
  // RecvWithSlot - the same for a read of request bytes that may carry
  // the client socket (early hand-off).
  Result<ipc::Received> RecvWithSlot(int fd, void* buf, size_t len, bool* at_limit);
  void TakeSpare();
  // FreeSlot - gives up the spare, or checks that a slot is free.
  bool FreeSlot(int any_fd);
  void Retire(Conn* conn);
  void Retire(TlsSession* session);
  static void Reap(evutil_socket_t, short, void* arg);

  event_base* base_;
  HandoffEnv env_;
  std::map<Conn*, std::unique_ptr<Conn>> conns_;
  struct Live {
    std::unique_ptr<TlsSession> session;
    daemon::Lease lease;
  };
  std::map<TlsSession*, Live> sessions_;
  std::vector<std::unique_ptr<Conn>> dead_conns_;
  std::vector<Live> dead_sessions_;
  EventPtr reaper_;
  UniqueFd spare_;        // one descriptor kept free for a client socket (held from construction)
  time_t limit_warned_ = 0;
};

}  // namespace pftls::proxy
