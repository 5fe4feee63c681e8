// sandbox/sandbox.cc - see sandbox/sandbox.h: the OS-independent order of
// the confinement steps, and the self-test calls.
#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/ptrace.h>
#endif

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/log.h"

namespace pftls::sandbox {

void Prepare(Confinement& c) {
  PrepareFilesystem(c);
  PrepareTrapLog(c.debug);
}

void Apply(Confinement& c) {
  ApplyFilesystem(c);  // Landlock first: its syscalls are not in the tables
  ApplySyscalls(c);
}

const char* SelftestNames() {
  return "execve ptrace socket_inet socket_unix open_creat open_read mprotect_exec mmap_exec setuid";
}

namespace {

long Attempt(const std::string& name) {
  if (name == "execve") {
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    return execve("/bin/true", argv, environ);
  }
#ifdef __linux__
  if (name == "ptrace") return ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
#endif
  if (name == "socket_inet") return socket(AF_INET, SOCK_STREAM, 0);
  if (name == "socket_unix") return socket(AF_UNIX, SOCK_STREAM, 0);
  if (name == "open_creat") return open("pftls-sandbox-selftest", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (name == "open_read") return open("/etc/passwd", O_RDONLY | O_CLOEXEC);
  if (name == "mprotect_exec" || name == "mmap_exec") {
    long page = sysconf(_SC_PAGESIZE);
    void* p = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    if (name == "mmap_exec") {
      void* q = mmap(nullptr, page, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      return q == MAP_FAILED ? -1 : 0;
    }
    return mprotect(p, page, PROT_READ | PROT_EXEC);
  }
  if (name == "setuid") return setuid(0);
  log::Fatal("pftls_sandbox_selftest: unknown test \"%s\" (known: %s)", name.c_str(), SelftestNames());
}

}  // namespace

void RunSelftest(const std::string& name) {
  log::Info("sandbox self-test: attempting forbidden call \"%s\"", name.c_str());
  errno = 0;
  long rc = Attempt(name);
  int err = errno;
  if (rc < 0) {
    log::Warn("sandbox self-test %s: call failed: %s", name.c_str(), strerror(err));
    _exit(3);
  }
  log::Error("sandbox self-test %s: call SUCCEEDED: the sandbox does not forbid it", name.c_str());
  _exit(4);
}

}  // namespace pftls::sandbox
