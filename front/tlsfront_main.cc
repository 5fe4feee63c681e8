/*++
 * NAME
 *	tlsfront 8 - pftls TLS front end for any TCP service: TLS
 *	termination by tlsproxy, relay to a plaintext backend
 * SYNOPSIS
 *	tlsfront [generic Postfix daemon options]
 * DESCRIPTION
 *	tlsfront terminates TLS for any TCP protocol (HTTPS, IMAPS, LDAPS,
 *	...) through the same privilege-separated tlsproxy(8) pool as
 *	smtpfront(8), in the role of stunnel or hitch. Each accepted client
 *	is handed to tlsproxy at once (implicit TLS) over
 *	private/$tlsproxy_service_name with SEND_CONTEXT, the pftls
 *	half-close flag and, when tlsfront_tls_alpn is set, the ALPN list.
 *	When the handshake is done tlsfront connects to tlsfront_relay,
 *	optionally writes a PROXY protocol v1 or v2 header (client address
 *	and port; for v2 also the TLS version, cipher, signature and key
 *	exchange algorithms and the negotiated ALPN protocol, as hitch's
 *	write-proxy-v2). With tlsfront_direct_relay (the default) it then
 *	hands the backend socket to tlsproxy, which relays TLS <-> backend
 *	itself (no byte crosses tlsfront; ipc/msg_tlsproxy.h), and keeps
 *	only the tlsproxy connection to learn the end and the byte counts;
 *	otherwise it relays the plaintext stream itself. Half-close: the
 *	client's close_notify or EOF shuts down the backend's write side,
 *	the backend's EOF makes tlsproxy send close_notify; the session ends
 *	when both directions are done. One process serves many clients.
 *
 *	No application protocol is spoken: a client beyond a connection cap
 *	is closed without a reply (one log line).
 * SECURITY
 *	tlsfront never touches TLS keys or plaintext from before the
 *	handshake: it runs chrooted (-c) as mail_owner (-u) with no new
 *	privileges, and opens only SOCK_STREAM sockets (AF_UNIX to tlsproxy,
 *	AF_INET/AF_INET6/AF_UNIX to the backend).
 * DIAGNOSTICS
 *	"connect from [addr]:port", "disconnect from [addr]:port in=N
 *	out=M (reason)", "reject: addr: too many connections", hand-off and
 *	backend warnings. tlsproxy logs the negotiated ALPN protocol.
 * CONFIGURATION PARAMETERS
 *	tlsfront_relay (inet:host:port or unix:path; required),
 *	tlsfront_proxy_protocol (none, v1, v2; none), tlsfront_tls_alpn
 *	(empty: no ALPN; e.g. h2,http/1.1), tlsfront_timeout (300s, idle),
 *	tlsfront_session_time_limit (0s: none), tlsfront_tls_timeout (60s,
 *	the TLS handshake), tlsfront_connection_limit (1000),
 *	tlsfront_client_connection_limit (0: none), tlsfront_direct_relay
 *	(yes), tlsproxy_service_name.
 * SEE ALSO
 *	tlsproxy(8), smtpfront(8)
 *--*/
#include <string>

#include "front/backend_addr.h"
#include "front/session_pool.h"
#include "front/tlsfront_session.h"
#include "ipc/msg_tlsproxy.h"
#include "util/daemon.h"
#include "util/log.h"

using namespace pftls;

namespace {

struct Front {
  front::TlsfrontConfig cfg;
  front::SessionPool<front::TlsfrontSession> pool;
};

}  // namespace

int main(int argc, char** argv) {
  Front f;
  auto load = [&f](daemon::Server& s) {
    config::Config& cfg = s.cfg();
    front::BackendAddr backend = front::RequireBackend(cfg, "tlsfront_relay");
    f.cfg.backend = backend.addr;
    f.cfg.backend_len = backend.len;
    auto proxy = front::ParseProxyHeader(cfg.Str("tlsfront_proxy_protocol"));
    if (!proxy) log::Fatal("tlsfront_proxy_protocol: %s", proxy.error().c_str());
    f.cfg.proxy = *proxy;
    std::string alpn;
    for (const std::string& name : cfg.List("tlsfront_tls_alpn")) alpn += (alpn.empty() ? "" : ",") + name;
    if (!alpn.empty()) {
      ipc::TlsproxyRequest probe{"x", ipc::kTlsproxyRoleServer, 1, 1, "x", {}, alpn};
      if (Status v = probe.Validate(); !v) log::Fatal("tlsfront_tls_alpn: %s", v.error().c_str());
    }
    f.cfg.alpn = alpn;
    f.cfg.direct_relay = cfg.Bool("tlsfront_direct_relay");
    f.cfg.tlsproxy_path = "private/" + cfg.Str("tlsproxy_service_name");
    f.cfg.serverid = s.service_name();
    f.cfg.idle_timeout = std::chrono::seconds(cfg.TimeSeconds("tlsfront_timeout"));
    f.cfg.total_timeout = std::chrono::seconds(cfg.TimeSeconds("tlsfront_session_time_limit"));
    long tls = cfg.TimeSeconds("tlsfront_tls_timeout");
    f.cfg.tls_timeout = static_cast<int>(std::min<long>(tls, ipc::kMaxTlsproxyTimeout));
    f.pool.SetLimits(cfg.Int("tlsfront_connection_limit"), cfg.Int("tlsfront_client_connection_limit"));
  };
  // No application protocol: a client over a cap is just closed.
  return front::RunFront<front::TlsfrontSession>(argc, argv, "tlsfront", &f.cfg, &f.pool, load);
}
