/*++
 * NAME
 *	sandbox/sandbox.h - syscall and file-system confinement of one role
 * SYNOPSIS
 *	#include "sandbox/sandbox.h"
 *
 *	sandbox::Confinement c;
 *	c.role = sandbox::RoleForProgram("tlsproxy");
 *	c.debug = false;			// pftls_sandbox_debug
 *	c.data_paths = {"/var/lib/postfix"};	// tlsmgr only
 *	sandbox::Prepare(c);		// before chroot: open data paths
 *	sandbox::Apply(c);		// step 7 of the jail
 *	sandbox::RunSelftest("execve");	// post_jail: must not return
 * DESCRIPTION
 *	One interface, one back end per operating system (R12):
 *	seccomp_linux.cc + landlock_linux.cc on Linux, pledge_openbsd.cc
 *	on OpenBSD, null.cc elsewhere (it logs that there is no sandbox).
 *	The per-role syscall tables are sandbox/policy_*.cc.
 *
 *	Roles: kProxy (tlsproxy), kMgr (tlsmgr), kFront (smtpfront and
 *	tlsfront), kGeneric (any other master child, e.g. test services).
 *
 *	Prepare() runs before chroot: it opens the role's data paths
 *	(O_PATH) for Landlock and, in debug mode, connects a datagram
 *	socket to /dev/log for the SIGSYS reporter. Apply() enables
 *	Landlock (where the kernel has it) and then loads the seccomp
 *	filter; every failure is fatal. RunSelftest() attempts one named
 *	forbidden call after Apply(); the process is expected to die of
 *	SIGSYS (or report EACCES/ENOSYS and exit 3 when the table says the
 *	call fails instead).
 * SECURITY
 *	The kernel enforces the result; nothing here can be undone by the
 *	process. Debug mode traps instead of killing: the SIGSYS handler
 *	only calls write(2)/sendto(2) with a preformatted line, then makes
 *	the call fail with ENOSYS.
 * DIAGNOSTICS
 *	log::Fatal naming the failing step ("seccomp_rule_add openat:
 *	Invalid argument", "landlock_restrict_self: ..."); one info line
 *	when the kernel has no Landlock.
 * CONFIGURATION PARAMETERS
 *	pftls_sandbox_debug (default no), pftls_sandbox_selftest (default
 *	empty; the name of a forbidden call to attempt after the jail).
 *--*/
#pragma once

#include <string>
#include <vector>

#include "util/fd.h"

namespace pftls::sandbox {

enum class Role { kProxy, kMgr, kFront, kGeneric };

// RoleForProgram - "tlsproxy" -> kProxy, "tlsmgr" -> kMgr, "smtpfront"
// and "tlsfront" -> kFront, anything else -> kGeneric.
Role RoleForProgram(const std::string& program);
const char* RoleName(Role role);

struct Confinement {
  Role role = Role::kGeneric;
  bool debug = false;                   // trap and log instead of kill
  bool forks = false;                   // fork_to_drain: allow clone (no threads)
  std::vector<std::string> data_paths;  // Landlock read/write (kMgr)
  std::vector<UniqueFd> data_fds;       // filled by Prepare()
};

// Prepare - before chroot: open data paths, debug log socket; fatal on error.
void Prepare(Confinement& c);
// Apply - Landlock, then seccomp; fatal on error.
void Apply(Confinement& c);
// RunSelftest - attempt the forbidden call NAME; exits if it returns.
[[noreturn]] void RunSelftest(const std::string& name);
// SelftestNames - the names RunSelftest() knows, space separated.
const char* SelftestNames();

// Back-end internals (sandbox/*_linux.cc, pledge_openbsd.cc, null.cc).
void PrepareFilesystem(Confinement& c);  // open data paths before chroot
void PrepareTrapLog(bool debug);         // debug: syslog socket for SIGSYS
void ApplyFilesystem(Confinement& c);  // Landlock / unveil / nothing
void ApplySyscalls(Confinement& c);    // seccomp / pledge / nothing

}  // namespace pftls::sandbox
