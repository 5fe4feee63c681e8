// sandbox/jail.cc - see sandbox/jail.h.
#include "sandbox/jail.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/log.h"

namespace pftls::sandbox {
namespace {

Error StepError(const char* step, const std::string& what) {
  return MakeError(std::string(step) + ": " + what + ": " + strerror(errno));
}

Status SetLimit(int resource, rlim_t value, const char* name) {
  rlimit rl{value, value};
  if (setrlimit(resource, &rl) != 0) return StepError("setrlimit", name);
  return Status::Ok();
}

}  // namespace

Status EnterJail(const JailSpec& spec) {
  bool root = geteuid() == 0;
  uid_t uid = 0;
  gid_t gid = 0;
  if (!spec.user.empty()) {
    errno = 0;
    passwd* pw = getpwnam(spec.user.c_str());
    if (!pw) {
      if (errno == 0) errno = ENOENT;
      return StepError("getpwnam", "user \"" + spec.user + "\"");
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  if (!root && (!spec.chroot_dir.empty() || !spec.user.empty()))
    log::Warn("%s: not started as root: running without chroot and privilege drop", spec.role.c_str());
  if (root && !spec.chroot_dir.empty()) {
    if (chroot(spec.chroot_dir.c_str()) != 0) return StepError("chroot", spec.chroot_dir);
    if (chdir("/") != 0) return StepError("chdir", "/");
  }
  if (root && !spec.user.empty()) {
    if (setgroups(1, &gid) != 0) return StepError("setgroups", spec.user);
    if (setresgid(gid, gid, gid) != 0) return StepError("setresgid", spec.user);
    if (setresuid(uid, uid, uid) != 0) return StepError("setresuid", spec.user);
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid) return StepError("getresuid", "verify");
    if (getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid) return StepError("getresgid", "verify");
    if (setuid(0) == 0) {
      errno = EPERM;
      return StepError("setuid", "privileges could be regained");
    }
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return StepError("prctl", "PR_SET_NO_NEW_PRIVS");
  // RLIMIT_NPROC counts all processes of the uid: only meaningful (and
  // only harmless) once we run under our own unprivileged uid.
  if (spec.no_fork && root && !spec.user.empty())
    if (Status s = SetLimit(RLIMIT_NPROC, 0, "RLIMIT_NPROC"); !s) return s;
  if (spec.no_files)
    if (Status s = SetLimit(RLIMIT_FSIZE, 0, "RLIMIT_FSIZE"); !s) return s;
  if (spec.core_limit >= 0)
    if (Status s = SetLimit(RLIMIT_CORE, static_cast<rlim_t>(spec.core_limit), "RLIMIT_CORE"); !s) return s;
  if (spec.policy)
    if (Status s = spec.policy(); !s) return s;
  return Status::Ok();
}

}  // namespace pftls::sandbox
