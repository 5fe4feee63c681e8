/*++
 * NAME
 *	tlsproxy 8 - pftls TLS proxy, drop-in for Postfix tlsproxy(8)
 * SYNOPSIS
 *	tlsproxy [generic Postfix daemon options]
 * DESCRIPTION
 *	tlsproxy terminates TLS for a plaintext front end (Postfix
 *	postscreen(8), pftls smtpfront(8) or tlsfront(8)). It speaks the
 *	Postfix 3.6-3.11 hand-off protocol on private/tlsproxy: it announces
 *	"protocol=tlsproxy_protocol", reads the request (remote_endpoint,
 *	flags, timeout, timeout, serverid), answers "status=1" when it can
 *	act as TLS server (else "status=0"), receives the client socket with
 *	SCM_RIGHTS, runs the TLS handshake and then relays plaintext and
 *	ciphertext both ways. With SEND_CONTEXT it first writes the 22-item
 *	TLS context list. One process serves many sessions; master(8) starts
 *	more processes as load grows (process limit 0).
 *
 *	Differences from Postfix: the handshake deadline is a total deadline
 *	measured from the arrival of the client socket (slow clients cannot
 *	stretch it); the relay is full duplex; tlsmgr is consulted
 *	asynchronously with a one-second deadline, so a stopped or dead
 *	tlsmgr costs session resumption, never a handshake; no per-session
 *	"seed" request is made.
 *
 *	pftls extensions (sent only by tlsfront(8), never by Postfix):
 *	pftls_flags=1 after serverid makes each relay direction end on its
 *	own (half-close: the client's close_notify/EOF shuts down the
 *	plaintext write side, plaintext EOF sends close_notify);
 *	pftls_alpn=h2,http/1.1 enables ALPN, chosen by server preference;
 *	with no common protocol the handshake proceeds without ALPN (as
 *	nginx does). When a request carries a pftls attribute, the context
 *	list gains a trailing pftls_alpn attribute with the negotiated
 *	protocol.
 *	pftls_flags bit 2 (direct relay): the front end then passes the
 *	backend socket after the context list and tlsproxy relays TLS <->
 *	backend itself (ipc/msg_tlsproxy.h), then reports the byte counts.
 * PROTOCOL EXAMPLE
 *	T: protocol=tlsproxy_protocol
 *	P: remote_endpoint=[192.0.2.1]:54321 flags=1 timeout=300 timeout=300 serverid=smtpd
 *	T: status=1
 *	P: (sendmsg: one NUL byte + SCM_RIGHTS client socket)
 *	P -> client: 220 2.0.0 Ready to start TLS
 *	client <-> T: TLS handshake; then relay.
 * SECURITY
 *	Moderately security-sensitive: talks TLS to untrusted clients.
 *	Certificates and keys are loaded before the jail (chroot to
 *	queue_directory with -c, mail_owner with -u, no new privileges).
 *	Then (pftls-daemon(8), sandbox/policy_roles.cc): Landlock with no
 *	file-system access and no TCP bind/connect; a seccomp allowlist
 *	that kills on execve, ptrace, PROT_EXEC mappings, open(O_CREAT)
 *	and socket(2) of any family other than AF_UNIX, and fails
 *	socket(AF_UNIX) and plain opens with EACCES. tlsproxy creates no
 *	socket after the jail: before it, it makes a reserve of 32
 *	unconnected AF_UNIX sockets, and each (re)connect to tlsmgr (first
 *	use, tlsmgr restart, ttl) takes one; a connect refused at once
 *	returns it. When the reserve is empty the process logs "no reserved
 *	socket left for the tlsmgr connection", stops accepting, finishes
 *	its sessions and exits, and master(8) starts a fresh process.
 *	While it drains, session caching is simply unavailable.
 * DIAGNOSTICS
 *	CONNECT from [addr]:port, the Postfix TLS summary line at loglevel
 *	>= 1, "TLS handshake failed for service=... peer=...", "ALPN
 *	protocol h2 for [addr]:port" or "no ALPN protocol negotiated for
 *	...", DISCONNECT.
 * CONFIGURATION PARAMETERS
 *	tlsproxy_tls_* (cert_file, key_file, eccert_file, eckey_file,
 *	chain_files, CAfile, CApath, ask_ccert, req_ccert, ccert_verifydepth,
 *	ciphers, mandatory_ciphers, exclude_ciphers, mandatory_exclude_ciphers,
 *	protocols, mandatory_protocols, eecdh_grade, dh1024_param_file,
 *	fingerprint_digest, always_issue_session_ids, loglevel,
 *	security_level), each defaulting to $smtpd_tls_*;
 *	tlsproxy_use_tls, tlsproxy_enforce_tls; tlsproxy_watchdog_timeout
 *	(10s); smtpd_tls_session_cache_timeout; tls_session_ticket_cipher;
 *	tlsmgr_service_name; tls_daemon_random_bytes; max_idle, max_use.
 * SEE ALSO
 *	tlsmgr(8), smtpfront(8), tlsfront(8), postscreen(8)
 *--*/
#include <memory>

#include "ipc/unix_socket.h"
#include "proxy/handoff.h"
#include "proxy/tlsmgr_link.h"
#include "tls/server_ctx.h"
#include "util/daemon.h"
#include "util/log.h"

using namespace pftls;

namespace {

// Unconnected AF_UNIX sockets kept for (re)connects to tlsmgr after the jail.
constexpr size_t kTlsmgrSocketReserve = 32;

struct Proxy {
  tls::ServerSettings settings;
  tls::ServerContext server;
  std::unique_ptr<proxy::TlsmgrLink> link;
  std::unique_ptr<proxy::HandoffServer> handoff;
};

}  // namespace

int main(int argc, char** argv) {
  Proxy p;
  daemon::ServerSpec spec;
  spec.program = "tlsproxy";
  spec.flavour = daemon::Flavour::kEvent;
  spec.limit = daemon::ProcessLimit::kZero;
  spec.writes_files = false;
  spec.watchdog_param = "tlsproxy_watchdog_timeout";
  spec.pre_jail = [&p](daemon::Server& s) {
    p.settings = tls::LoadServerSettings(s.cfg(), "tlsproxy_tls_", "tlsproxy_");
    auto sc = tls::BuildServerContext(p.settings);
    if (!sc) log::Fatal("%s", sc.error().c_str());
    p.server = std::move(*sc);
    if (!p.server.enabled) {
      log::Warn("TLS server role is disabled (security level \"%s\"): every request gets status 0",
                tls::LevelName(p.server.level));
      return;
    }
    proxy::TlsSession::InstallAlpnHook(p.server.ctx.get());  // inert unless a request has pftls_alpn
    if (p.settings.session_cache_timeout > 0) {
      proxy::LinkOptions lo;
      lo.socket_path = "private/" + s.cfg().Str("tlsmgr_service_name");
      lo.seed_bytes = s.cfg().Int("tls_daemon_random_bytes");
      lo.cache_timeout = p.settings.session_cache_timeout;
      p.link = std::make_unique<proxy::TlsmgrLink>(s.base(), lo);
      p.link->Start();
      p.link->Install(p.server.ctx.get(), p.server.ticket_cipher);
      // The sandbox forbids socket(2) after the jail: later (re)connects
      // to tlsmgr use sockets made now; none left -> retire (man page).
      daemon::Server* srv = &s;
      Status st = ipc::ReserveUnixSockets(kTlsmgrSocketReserve, [srv] {
        log::Warn("no reserved socket left for the tlsmgr connection: retiring after the current sessions");
        srv->Drain("tlsmgr socket reserve exhausted");
      });
      if (!st) log::Fatal("%s", st.error().c_str());
    }
  };
  spec.post_jail = [&p](daemon::Server& s) {
    proxy::HandoffEnv env;
    env.ctx = p.server.enabled ? p.server.ctx.get() : nullptr;
    env.level = p.server.level;
    env.loglevel = p.server.loglevel;
    env.fingerprint_md = p.server.fingerprint_md;
    if (p.link) {
      proxy::TlsmgrLink* link = p.link.get();
      env.client_hello = [link](proxy::TlsSession& ts, SSL* ssl) { return link->OnClientHello(ts, ssl); };
    }
    p.handoff = std::make_unique<proxy::HandoffServer>(s.base(), env);
  };
  spec.on_accept = [&p](daemon::Server&, UniqueFd fd, daemon::Lease lease) {
    p.handoff->Accept(std::move(fd), std::move(lease));
  };
  spec.on_exit = [&p](daemon::Server&) {
    p.handoff.reset();  // libevent objects go before the event base
    p.link.reset();
  };
  return daemon::RunServer(argc, argv, spec);
}
