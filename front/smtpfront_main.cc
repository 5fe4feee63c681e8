/*++
 * NAME
 *	smtpfront 8 - pftls SMTP front end: STARTTLS offload to tlsproxy,
 *	relay to a backend MTA
 * SYNOPSIS
 *	smtpfront [generic Postfix daemon options]
 * DESCRIPTION
 *	smtpfront takes the postscreen(8) role for any SMTP server: it
 *	accepts SMTP clients, relays the dialogue to the backend named by
 *	smtpfront_relay, and answers STARTTLS itself by handing the client
 *	to tlsproxy(8) over private/$tlsproxy_service_name; after the
 *	handshake the decrypted stream is relayed to the backend. With
 *	smtpfront_tls_wrappermode = yes the client gets TLS at once
 *	(implicit TLS, port 465 style). When the backend offers XCLIENT, the
 *	client's real address and port are passed on. One process serves
 *	many clients.
 * SECURITY
 *	smtpfront talks to untrusted clients in plaintext and never touches
 *	TLS keys: it runs chrooted (-c) as mail_owner (-u) with no new
 *	privileges. Client XCLIENT commands are refused. Bytes pipelined
 *	after STARTTLS are discarded (CVE-2011-0411). Inside the jail
 *	(pftls-daemon(8), sandbox/policy_roles.cc) Landlock allows no file
 *	access at all, and the seccomp allowlist (shared with tlsfront)
 *	permits sockets of the families AF_UNIX, AF_INET and AF_INET6 only
 *	(hand-off to tlsproxy, back-end connections) and kills on execve,
 *	ptrace, PROT_EXEC mappings and open(O_CREAT); other opens fail
 *	with EACCES.
 * DIAGNOSTICS
 *	CONNECT from / DISCONNECT, "too many connections", protocol
 *	warnings, the discarded-input warning.
 * CONFIGURATION PARAMETERS
 *	smtpfront_relay (inet:host:port or unix:path; required),
 *	smtpfront_tls_security_level ($smtpd_tls_security_level: none, may,
 *	encrypt), smtpfront_tls_wrappermode (no), smtpfront_timeout (300s,
 *	idle client), smtpfront_tls_timeout ($postscreen_command_time_limit,
 *	the TLS handshake and session timeouts sent to tlsproxy),
 *	smtpfront_connection_limit (1000), smtpfront_client_connection_limit
 *	(50), tlsproxy_service_name, myhostname.
 * SEE ALSO
 *	tlsproxy(8), tlsfront(8), postscreen(8)
 *--*/
#include <sys/socket.h>

#include <string>

#include "front/backend_addr.h"
#include "front/session_pool.h"
#include "front/smtp_session.h"
#include "tls/policy.h"
#include "util/daemon.h"
#include "util/log.h"

using namespace pftls;

namespace {

struct Front {
  front::FrontConfig cfg;
  front::SessionPool<front::SmtpSession> pool;
};

}  // namespace

int main(int argc, char** argv) {
  Front f;
  auto load = [&f](daemon::Server& s) {
    config::Config& cfg = s.cfg();
    front::BackendAddr backend = front::RequireBackend(cfg, "smtpfront_relay");
    f.cfg.backend = backend.addr;
    f.cfg.backend_len = backend.len;
    auto level = tls::ParseServerLevel(cfg.Str("smtpfront_tls_security_level"), cfg.Bool("smtpd_use_tls"),
                                       cfg.Bool("smtpd_enforce_tls"));
    if (!level) log::Fatal("smtpfront_tls_security_level: %s", level.error().c_str());
    f.cfg.level = *level;
    f.cfg.wrapper = cfg.Bool("smtpfront_tls_wrappermode");
    f.cfg.tlsproxy_path = "private/" + cfg.Str("tlsproxy_service_name");
    f.cfg.myhostname = cfg.Str("myhostname");
    f.cfg.serverid = s.service_name();
    f.cfg.idle_timeout = std::chrono::seconds(cfg.TimeSeconds("smtpfront_timeout"));
    f.cfg.tls_timeout = static_cast<int>(cfg.TimeSeconds("smtpfront_tls_timeout"));
    f.pool.SetLimits(cfg.Int("smtpfront_connection_limit"), cfg.Int("smtpfront_client_connection_limit"));
  };
  auto reject = [&f](int client) {
    std::string msg = "421 4.7.0 " + f.cfg.myhostname + " Error: too many connections\r\n";
    ssize_t w = send(client, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
  };
  return front::RunFront<front::SmtpSession>(argc, argv, "smtpfront", &f.cfg, &f.pool, load, reject);
}
