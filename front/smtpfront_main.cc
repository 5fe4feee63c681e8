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
 *	after STARTTLS are discarded (CVE-2011-0411).
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

#include <map>
#include <memory>
#include <vector>

#include "front/backend_addr.h"
#include "front/conn_limits.h"
#include "front/smtp_session.h"
#include "sandbox/jail.h"
#include "tls/policy.h"
#include "util/daemon.h"
#include "util/log.h"

using namespace pftls;

namespace {

struct Front {
  front::FrontConfig cfg;
  std::unique_ptr<front::ConnLimits> limits;
  std::map<front::SmtpSession*, std::unique_ptr<front::SmtpSession>> sessions;
  std::vector<std::unique_ptr<front::SmtpSession>> dead;
  EventPtr reaper;
};

void Reject(int fd, const std::string& host, const char* why, const std::string& ep) {
  log::Warn("reject: %s from %s", why, ep.c_str());
  std::string msg = "421 4.7.0 " + host + " Error: too many connections\r\n";
  ssize_t w = send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)w;
}

}  // namespace

int main(int argc, char** argv) {
  Front f;
  daemon::Hooks h;
  h.pre_jail = [&f](daemon::Context& c) {
    config::Config& cfg = c.cfg();
    std::string relay = cfg.Str("smtpfront_relay");
    if (relay.empty()) log::Fatal("smtpfront_relay is not set (inet:host:port or unix:/path)");
    auto backend = front::ParseBackend(relay);
    if (!backend) log::Fatal("smtpfront_relay: %s", backend.error().c_str());
    f.cfg.backend = backend->addr;
    f.cfg.backend_len = backend->len;
    auto level = tls::ParseServerLevel(cfg.Str("smtpfront_tls_security_level"), cfg.Bool("smtpd_use_tls"),
                                       cfg.Bool("smtpd_enforce_tls"));
    if (!level) log::Fatal("smtpfront_tls_security_level: %s", level.error().c_str());
    f.cfg.level = *level;
    f.cfg.wrapper = cfg.Bool("smtpfront_tls_wrappermode");
    f.cfg.tlsproxy_path = "private/" + cfg.Str("tlsproxy_service_name");
    f.cfg.myhostname = cfg.Str("myhostname");
    f.cfg.serverid = c.options().service.empty() ? "smtpfront" : c.options().service;
    f.cfg.idle_timeout = std::chrono::seconds(cfg.TimeSeconds("smtpfront_timeout"));
    f.cfg.tls_timeout = static_cast<int>(cfg.TimeSeconds("smtpfront_tls_timeout"));
    f.limits = std::make_unique<front::ConnLimits>(cfg.Int("smtpfront_connection_limit"),
                                                   cfg.Int("smtpfront_client_connection_limit"));
  };
  h.jail = [](daemon::Context& c) {
    sandbox::JailSpec js;
    js.role = "smtpfront";
    if (c.options().chroot) js.chroot_dir = c.cfg().Str("queue_directory");
    if (c.options().setuid) js.user = c.cfg().Str("mail_owner");
    js.no_fork = true;
    js.no_files = true;
    return sandbox::EnterJail(js);
  };
  h.post_jail = [&f](daemon::Context& c) {
    f.reaper.reset(event_new(c.base(), -1, 0, [](evutil_socket_t, short, void* arg) {
      static_cast<Front*>(arg)->dead.clear();
    }, &f));
  };
  h.on_connection = [&f](daemon::Context& c, UniqueFd fd) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    getpeername(fd.get(), reinterpret_cast<sockaddr*>(&peer), &len);
    std::string addr = front::AddrString(peer);
    if (const char* why = f.limits->Admit(addr)) {
      Reject(fd.get(), f.cfg.myhostname, why, addr);
      return;  // fd closes here
    }
    Front* fp = &f;
    auto s = std::make_unique<front::SmtpSession>(c.base(), f.cfg, std::move(fd), peer,
                                                  [fp, addr](front::SmtpSession* done) {
                                                    fp->limits->Release(addr);
                                                    auto it = fp->sessions.find(done);
                                                    if (it == fp->sessions.end()) return;
                                                    fp->dead.push_back(std::move(it->second));
                                                    fp->sessions.erase(it);
                                                    event_active(fp->reaper.get(), EV_TIMEOUT, 0);
                                                  });
    front::SmtpSession* raw = s.get();
    f.sessions.emplace(raw, std::move(s));
    raw->Start();
  };
  h.active = [&f]() -> size_t { return f.sessions.size(); };
  return daemon::Run(argc, argv, "smtpfront", daemon::Kind::kEvent, h);
}
