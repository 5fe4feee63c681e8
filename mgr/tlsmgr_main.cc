/*++
 * NAME
 *	tlsmgr 8 - pftls TLS session cache, ticket key and PRNG manager,
 *	drop-in for Postfix tlsmgr(8)
 * SYNOPSIS
 *	tlsmgr [generic Postfix daemon options]
 * DESCRIPTION
 *	tlsmgr answers the Postfix tlsmgr protocol on private/tlsmgr
 *	(announcement "protocol=tlsmgr_protocol", then any number of
 *	request/reply exchanges per connection): seed, policy, lookup,
 *	update, delete and tktkey, with the semantics and status codes of
 *	Postfix 3.7 (see man/tlsmgr.8 for the details and the differences).
 *	One process serves every client (process limit 1); the master's
 *	wake-up byte is ignored.
 *
 *	The smtpd, smtp and lmtp session caches live in SQLite files, are
 *	recreated at every start, expire incrementally, are capped at
 *	pftls_session_cache_max_entries and heal themselves when damaged.
 *	Ticket keys live in memory only. PRNG exchange-file errors are
 *	warnings, never fatal.
 * SECURITY
 *	tlsmgr never interprets cached session data. Cache files and the
 *	exchange file are opened as mail_owner before the jail (chroot to
 *	queue_directory with -c, mail_owner with -u, no new privileges).
 * DIAGNOSTICS
 *	Warnings for bad requests and damaged files; a periodic
 *	"statistics:" line.
 * CONFIGURATION PARAMETERS
 *	smtpd_tls_session_cache_database, smtpd_tls_session_cache_timeout,
 *	smtp_tls_session_cache_*, lmtp_tls_session_cache_*,
 *	pftls_session_cache_max_entries, tls_random_source,
 *	tls_random_bytes, tls_random_exchange_name,
 *	tls_random_reseed_period, tls_random_prng_update_period,
 *	tls_session_ticket_cipher, pftls_ticket_master_key_file,
 *	tlsmgr_service_name, daemon_timeout.
 * SEE ALSO
 *	tlsproxy(8), smtpd(8)
 *--*/
#include <pwd.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "ipc/server.h"
#include "ipc/tlsmgr_routes.h"
#include "mgr/service.h"
#include "sandbox/jail.h"
#include "util/daemon.h"
#include "util/log.h"

using namespace pftls;

namespace {

// AsUser - run fn with the effective ids of user (when root), so that files
// it creates belong to mail_owner, as Postfix's tlsmgr does.
template <class Fn>
void AsUser(const std::string& user, bool drop, Fn fn) {
  passwd* pw = drop && geteuid() == 0 ? getpwnam(user.c_str()) : nullptr;
  if (drop && geteuid() == 0 && !pw) log::Fatal("unknown mail_owner user \"%s\"", user.c_str());
  if (pw && (setegid(pw->pw_gid) != 0 || seteuid(pw->pw_uid) != 0)) log::Fatal("seteuid %s: %m", user.c_str());
  fn();
  if (pw && (seteuid(0) != 0 || setegid(0) != 0)) log::Fatal("seteuid root: %m");
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<mgr::TlsmgrServiceImpl> svc;
  std::vector<std::unique_ptr<ipc::Server>> servers;
  bool chrooted = false;
  daemon::Hooks h;
  h.pre_jail = [&svc](daemon::Context& c) {
    AsUser(c.cfg().Str("mail_owner"), c.options().setuid, [&] {
      auto built = mgr::BuildTlsmgrService(c.cfg());
      if (!built) log::Fatal("%s", built.error().c_str());
      svc = std::move(*built);
    });
  };
  h.jail = [&chrooted](daemon::Context& c) {
    chrooted = c.options().chroot && geteuid() == 0;
    sandbox::JailSpec js;
    js.role = "tlsmgr";
    if (c.options().chroot) js.chroot_dir = c.cfg().Str("queue_directory");
    if (c.options().setuid) js.user = c.cfg().Str("mail_owner");
    js.no_fork = true;
    return sandbox::EnterJail(js);
  };
  h.post_jail = [&svc, &servers, &chrooted](daemon::Context& c) {
    if (chrooted) svc->EnteredJail(c.cfg().Str("queue_directory"));
    svc->Start();
    if (Status s = svc->Arm(c.base()); !s) log::Fatal("%s", s.error().c_str());
    for (UniqueFd& fd : c.TakeListeners()) {
      auto server = std::make_unique<ipc::Server>(c.base(), std::move(fd), ipc::TlsmgrServerOptions(),
                                                  ipc::TlsmgrRoutes(*svc));
      if (Status s = server->Start(); !s) log::Fatal("%s", s.error().c_str());
      servers.push_back(std::move(server));
    }
  };
  h.active = [] { return size_t{0}; };  // persistent: on reload or master exit, leave at once
  h.on_exit = [&svc](daemon::Context&) {
    if (svc) svc->Shutdown();
  };
  return daemon::Run(argc, argv, "tlsmgr", daemon::Kind::kMulti, h);
}
