/*++
 * NAME
 *	sandbox/jail.h - the one privilege-drop sequence every daemon runs
 * SYNOPSIS
 *	#include "sandbox/jail.h"
 *
 *	sandbox::JailSpec spec;
 *	spec.role = "tlsproxy";
 *	spec.chroot_dir = "/var/spool/postfix";	// "" = no chroot (-c absent)
 *	spec.user = "postfix";			// "" = stay (-u absent)
 *	spec.forks = false;			// RLIMIT_NPROC 0
 *	sandbox::EnterJail(spec, {.pre_jail = ..., .post_jail = ...});
 *
 *	Result<sandbox::UserIds> ids = sandbox::LookupUser("postfix");
 * DESCRIPTION
 *	EnterJail() runs, in this fixed order, each step fatal on error:
 *
 *	1. resolve the user (getpwnam) while /etc/passwd is still visible;
 *	2. hooks.pre_jail(): open files, load keys, open databases;
 *	3. chroot(chroot_dir) + chdir("/") when chroot_dir is set;
 *	4. setgroups({gid}), setresgid(gid x3), setresuid(uid x3) when user
 *	   is set, then verified with getresuid/getresgid (and a failing
 *	   setuid(0) when uid != 0);
 *	5. prctl(PR_SET_NO_NEW_PRIVS);
 *	6. rlimits: RLIMIT_CORE (core_limit), then RLIMIT_NPROC 0 unless the
 *	   role forks (only after setuid: it would not bind root anyway);
 *	7. the syscall confinement of the role (sandbox/sandbox.h: Landlock
 *	   ruleset, then the role's seccomp allowlist, chosen by
 *	   RoleForProgram(role)) - after every step that needs
 *	   chroot/setuid/prctl/setrlimit, before post_jail; the data paths
 *	   are opened (O_PATH) between steps 2 and 3;
 *	8. hooks.post_jail(): the role's last set-up inside the jail;
 *	9. with selftest set: attempt that forbidden call (RunSelftest).
 *
 *	Started as non-root, steps 3 and 4 are skipped with one warning
 *	(when they were asked for); every other step still runs.
 *
 *	The caller opens syslog (openlog with LOG_NDELAY, util/log.h)
 *	before calling EnterJail(), so logging survives the chroot.
 * SECURITY
 *	Daemon code never calls chroot/setuid itself; this is the one place.
 *	Supplementary groups are reset, saved ids are dropped too, and the
 *	result is verified rather than trusted.
 * DIAGNOSTICS
 *	log::Fatal naming the failing step and errno, e.g. "chroot
 *	/var/spool/postfix: No such file or directory".
 * CONFIGURATION PARAMETERS
 *	None directly; the skeleton (util/daemon.h) fills JailSpec from
 *	queue_directory, mail_owner and pftls_core_dumps.
 *--*/
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "util/result.h"

namespace pftls::sandbox {

struct UserIds {
  uid_t uid;
  gid_t gid;
};

struct JailSpec {
  std::string role;        // for messages
  std::string chroot_dir;  // empty: no chroot
  std::string user;        // empty: no user change
  bool forks = false;      // false: RLIMIT_NPROC = 0 after the drop
  bool no_files = false;   // true: RLIMIT_FSIZE = 0 (the role writes no files)
  rlim_t core_limit = 0;   // RLIMIT_CORE soft and hard limit
  bool confine = true;     // step 7: seccomp + Landlock (sandbox/sandbox.h)
  bool sandbox_debug = false;           // pftls_sandbox_debug: trap, log
  std::string selftest;                 // pftls_sandbox_selftest: after post_jail
  std::vector<std::string> data_paths;  // Landlock read/write paths (tlsmgr)
};

struct JailHooks {
  std::function<void()> pre_jail;
  std::function<void()> post_jail;
};

// LookupUser - uid/gid of a login name; error text names the user.
Result<UserIds> LookupUser(const std::string& name);

// UseraddHint - the command that creates a missing system user.
std::string UseraddHint(const std::string& name);

// EnterJail - run the fixed sequence above; fatal on any error.
void EnterJail(const JailSpec& spec, const JailHooks& hooks);

}  // namespace pftls::sandbox
