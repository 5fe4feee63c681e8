/*++
 * NAME
 *	sandbox/jail.h - the one privilege-drop sequence every daemon goes through
 * SYNOPSIS
 *	#include "sandbox/jail.h"
 *
 *	JailSpec spec;
 *	spec.role = "tlsproxy";
 *	spec.chroot_dir = queue_directory;	// empty: no chroot
 *	spec.user = "postfix";			// empty: keep the uid
 *	Status s = EnterJail(spec);
 * DESCRIPTION
 *	EnterJail() runs, in this order, each step fatal on error (the
 *	caller has already run its pre-jail hook: files opened, keys
 *	loaded, syslog opened):
 *	1. look up the user (before chroot: /etc/passwd is outside);
 *	2. chroot(chroot_dir) and chdir("/"), when chroot_dir is set;
 *	3. setgroups(1, gid), setresgid, setresuid to the user, verified
 *	   with getresgid/getresuid (no way back to root);
 *	4. PR_SET_NO_NEW_PRIVS;
 *	5. resource limits: RLIMIT_NPROC 0 for roles that never fork,
 *	   RLIMIT_FSIZE 0 for roles that write no files, RLIMIT_CORE as
 *	   configured;
 *	6. the role's system-call and filesystem policy (seccomp and
 *	   Landlock, sandbox/policy_*.cc), when the role has one.
 *	A start as non-root skips steps 2 and 3 with one warning.
 * SECURITY
 *	Daemon code never calls setuid/chroot itself: this is the only path.
 * DIAGNOSTICS
 *	Returns an error naming the failed step and errno.
 * CONFIGURATION PARAMETERS
 *	queue_directory, mail_owner (through the caller).
 *--*/
#pragma once

#include <functional>
#include <string>

#include "util/result.h"

namespace pftls::sandbox {

struct JailSpec {
  std::string role;
  std::string chroot_dir;  // empty: no chroot
  std::string user;        // empty: no uid change
  bool no_fork = true;     // RLIMIT_NPROC 0
  bool no_files = false;   // RLIMIT_FSIZE 0
  long core_limit = -1;    // <0: unchanged
  // policy - step 6 (installed by the role's sandbox policy; may be empty).
  std::function<Status()> policy;
};

Status EnterJail(const JailSpec& spec);

}  // namespace pftls::sandbox
