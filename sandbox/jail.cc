// sandbox/jail.cc - see sandbox/jail.h. One function per step, called in
// order by EnterJail(); each step is fatal on error.
#include "sandbox/jail.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "sandbox/sandbox.h"
#include "util/log.h"

namespace pftls::sandbox {

Result<UserIds> LookupUser(const std::string& name) {
  errno = 0;
  struct passwd* pw = getpwnam(name.c_str());
  if (pw == nullptr) {
    if (errno != 0) return MakeError(log::Format("getpwnam %s: %s", name.c_str(), strerror(errno)));
    return MakeError(log::Format("unknown user name: %s", name.c_str()));
  }
  return UserIds{pw->pw_uid, pw->pw_gid};
}

std::string UseraddHint(const std::string& name) {
  return "useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin " + name;
}

namespace {

void StepChroot(const JailSpec& spec) {
  if (chroot(spec.chroot_dir.c_str()) < 0)
    log::Fatal("chroot %s: %s", spec.chroot_dir.c_str(), strerror(errno));
  if (chdir("/") < 0) log::Fatal("chdir / in %s: %s", spec.chroot_dir.c_str(), strerror(errno));
}

void StepDropUser(const JailSpec& spec, const UserIds& ids) {
  gid_t groups[1] = {ids.gid};
  if (setgroups(1, groups) < 0) log::Fatal("setgroups %u: %s", unsigned(ids.gid), strerror(errno));
  if (setresgid(ids.gid, ids.gid, ids.gid) < 0)
    log::Fatal("setresgid %u: %s", unsigned(ids.gid), strerror(errno));
  if (setresuid(ids.uid, ids.uid, ids.uid) < 0)
    log::Fatal("setresuid %u: %s", unsigned(ids.uid), strerror(errno));
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
    log::Fatal("getresuid/getresgid: %s", strerror(errno));
  if (ru != ids.uid || eu != ids.uid || su != ids.uid || rg != ids.gid || eg != ids.gid || sg != ids.gid)
    log::Fatal("%s: privilege drop to %s did not take effect", spec.role.c_str(), spec.user.c_str());
  if (ids.uid != 0 && setuid(0) == 0)
    log::Fatal("%s: could regain root after dropping to %s", spec.role.c_str(), spec.user.c_str());
}

void StepNoNewPrivs() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) log::Fatal("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
}

void StepRlimits(const JailSpec& spec) {
  struct rlimit core = {spec.core_limit, spec.core_limit};
  if (setrlimit(RLIMIT_CORE, &core) < 0) log::Fatal("setrlimit RLIMIT_CORE: %s", strerror(errno));
  if (!spec.forks) {
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_NPROC, &none) < 0) log::Fatal("setrlimit RLIMIT_NPROC: %s", strerror(errno));
  }
  if (spec.no_files) {
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_FSIZE, &none) < 0) log::Fatal("setrlimit RLIMIT_FSIZE: %s", strerror(errno));
  }
}

}  // namespace

void EnterJail(const JailSpec& spec, const JailHooks& hooks) {
  // 1. Resolve the user while the password database is reachable.
  UserIds ids{0, 0};
  if (!spec.user.empty()) {
    Result<UserIds> r = LookupUser(spec.user);
    if (!r) log::Fatal("mail_owner: %s; create it with: %s", r.error().c_str(), UseraddHint(spec.user).c_str());
    ids = *r;
  }
  // 2. Open what the role needs from the full file system.
  if (hooks.pre_jail) hooks.pre_jail();
  Confinement conf;
  conf.role = RoleForProgram(spec.role);
  conf.debug = spec.sandbox_debug;
  conf.forks = spec.forks;
  conf.data_paths = spec.data_paths;
  if (spec.confine) Prepare(conf);

  const bool root = geteuid() == 0;
  if (!root && (!spec.chroot_dir.empty() || !spec.user.empty()))
    log::Warn("%s: not started as root: skipping chroot and privilege drop", spec.role.c_str());
  // 3. chroot.
  if (root && !spec.chroot_dir.empty()) StepChroot(spec);
  // 4. Drop to the unprivileged user.
  if (root && !spec.user.empty()) StepDropUser(spec, ids);
  // 5. No way back up through set-id binaries or file capabilities.
  StepNoNewPrivs();
  // 6. Resource limits (NPROC only after the uid change).
  StepRlimits(spec);
  // 7. Syscall and file-system confinement (Landlock, then seccomp).
  if (spec.confine) Apply(conf);
  // 8. The role's last set-up inside the jail.
  if (hooks.post_jail) hooks.post_jail();
  // 9. Self-test: the named forbidden call must end the process.
  if (!spec.selftest.empty()) RunSelftest(spec.selftest);
}

}  // namespace pftls::sandbox
