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
 *	Then (pftls-daemon(8), sandbox/policy_roles.cc): Landlock allows
 *	file access only beneath the directories of the enabled cache files
 *	and of tls_random_exchange_name (read/write/create/remove) and
 *	reading tls_random_source; anything else fails with EACCES. The
 *	seccomp allowlist permits AF_UNIX sockets only (syslog, egd:) and
 *	kills on execve, ptrace, PROT_EXEC mappings and other families.
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

#include "ipc/server.h"
#include "ipc/tlsmgr_routes.h"
#include "mgr/service.h"
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
  std::unique_ptr<ipc::Server> server;
  bool chrooted = false;
  daemon::ServerSpec spec;
  spec.program = "tlsmgr";
  // Connections are served by ipc::Server on the event loop; the skeleton
  // accepts, and the process stays until master goes away (no retirement).
  spec.flavour = daemon::Flavour::kEvent;
  spec.limit = daemon::ProcessLimit::kOne;
  spec.retire = false;
  spec.pre_jail = [&](daemon::Server& s) {
    chrooted = s.options().chroot && geteuid() == 0;
    AsUser(s.cfg().Str("mail_owner"), s.options().unprivileged, [&] {
      auto built = mgr::BuildTlsmgrService(s.cfg());
      if (!built) log::Fatal("%s", built.error().c_str());
      svc = std::move(*built);
    });
  };
  spec.data_paths = [](daemon::Server& s) { return mgr::SandboxPaths(s.cfg()); };
  spec.post_jail = [&](daemon::Server& s) {
    if (chrooted) svc->EnteredJail(s.cfg().Str("queue_directory"));
    svc->Start();
    if (Status st = svc->Arm(s.base()); !st) log::Fatal("%s", st.error().c_str());
    server = std::make_unique<ipc::Server>(s.base(), UniqueFd(), ipc::TlsmgrServerOptions(), ipc::TlsmgrRoutes(*svc));
  };
  // The lease is dropped at once: tlsmgr does not hold master's reload
  // up for its clients' idle connections (they reconnect).
  spec.on_accept = [&](daemon::Server&, UniqueFd fd, daemon::Lease) { server->Adopt(std::move(fd)); };
  spec.on_exit = [&](daemon::Server&) {
    server.reset();
    if (svc) svc->Shutdown();
    svc.reset();
  };
  return daemon::RunServer(argc, argv, spec);
}
