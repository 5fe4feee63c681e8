// sandbox/pledge_openbsd.cc - OpenBSD back end: pledge(2) promises and
// unveil(2) paths, one capability sentence per role (R12):
//   tlsproxy  "stdio recvfd"               - TLS over descriptors it is
//             handed; no files, no new sockets (the tlsmgr link uses the
//             sockets reserved before the jail and only connects them:
//             "unix" is needed for connect(2)).
//   tlsmgr    "stdio rpath wpath cpath flock unix" - its cache and PRNG
//             exchange files, unveiled one by one; nothing else visible.
//   smtpfront "stdio recvfd sendfd inet unix dns" - SMTP in, hand-off of
//             the client socket to tlsproxy, relaying to the back end.
//   generic   "stdio rpath inet unix"       - test services.
// execpromises are always empty; unveil(NULL, NULL) locks the view.
#ifdef __OpenBSD__
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sandbox/sandbox.h"
#include "util/log.h"

namespace pftls::sandbox {
namespace {

const char* Promises(Role role) {
  switch (role) {
    case Role::kProxy: return "stdio recvfd unix";
    case Role::kMgr: return "stdio rpath wpath cpath flock unix";
    case Role::kFront: return "stdio recvfd sendfd inet unix dns";
    case Role::kGeneric: return "stdio rpath inet unix";
  }
  return "stdio";
}

}  // namespace

void PrepareFilesystem(Confinement&) {}
void PrepareTrapLog(bool) {}

void ApplyFilesystem(Confinement& c) {
  for (const std::string& p : c.data_paths)
    if (unveil(p.c_str(), "rwc") < 0) log::Fatal("unveil %s: %s", p.c_str(), strerror(errno));
  if (unveil(nullptr, nullptr) < 0) log::Fatal("unveil lock: %s", strerror(errno));
}

void ApplySyscalls(Confinement& c) {
  if (pledge(Promises(c.role), "") < 0) log::Fatal("pledge %s: %s", Promises(c.role), strerror(errno));
  log::Info("sandbox: pledge \"%s\" (%s)", Promises(c.role), RoleName(c.role));
}

}  // namespace pftls::sandbox
#endif  // __OpenBSD__
