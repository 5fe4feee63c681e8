// sandbox/null.cc - the back end for systems with neither seccomp/Landlock
// (Linux) nor pledge/unveil (OpenBSD): it confines nothing and says so.
#if !defined(__linux__) && !defined(__OpenBSD__)
#include "sandbox/sandbox.h"
#include "util/log.h"

namespace pftls::sandbox {

void PrepareFilesystem(Confinement&) {}
void PrepareTrapLog(bool) {}
void ApplyFilesystem(Confinement&) {}
void ApplySyscalls(Confinement& c) {
  log::Warn("sandbox: no syscall sandbox on this system; %s is confined by chroot and uid only", RoleName(c.role));
}

}  // namespace pftls::sandbox
#endif
