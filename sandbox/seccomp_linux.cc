// sandbox/seccomp_linux.cc - Linux syscall back end: builds the role's
// seccomp filter from sandbox/policy_*.cc with libseccomp and loads it.
// Every libseccomp return code is checked; every failure is fatal.
//
// Debug mode (pftls_sandbox_debug = yes): the default action is
// SCMP_ACT_TRAP; the SIGSYS handler formats one line from a name table
// built before the filter was loaded (no allocation, no stdio), writes it
// to stderr and sends it to the syslog socket Prepare() connected, then
// makes the call fail with ENOSYS and continues.
#ifdef __linux__
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <ucontext.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "sandbox/policy.h"
#include "sandbox/sandbox.h"
#include "util/log.h"

namespace pftls::sandbox {
namespace {

struct CtxFree {
  void operator()(void* c) const { seccomp_release(static_cast<scmp_filter_ctx>(c)); }
};
using FilterPtr = std::unique_ptr<void, CtxFree>;

// Trap reporting state; written before the filter is loaded, read only
// by the signal handler afterwards.
constexpr int kMaxNr = 512;
std::array<std::array<char, 28>, kMaxNr> g_names{};
char g_prefix[96];
int g_log_fd = -1;

void Check(int rc, const char* what, const char* name) {
  if (rc < 0) log::Fatal("seccomp %s %s: %s", what, name, strerror(-rc));
}

void AppendNum(char* buf, size_t& n, size_t cap, long v) {
  char tmp[24];
  size_t k = 0;
  unsigned long u = v < 0 ? 0UL - static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
  do {
    tmp[k++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u && k < sizeof(tmp));
  if (v < 0 && n < cap) buf[n++] = '-';
  while (k && n < cap) buf[n++] = tmp[--k];
}

void AppendStr(char* buf, size_t& n, size_t cap, const char* s) {
  while (*s && n < cap) buf[n++] = *s++;
}

void OnSigsys(int, siginfo_t* si, void* uc_void) {
  int saved = errno;
  char line[200];
  size_t n = 0;
  AppendStr(line, n, sizeof(line) - 1, g_prefix);
  AppendStr(line, n, sizeof(line) - 1, "sandbox: trapped forbidden syscall ");
  AppendNum(line, n, sizeof(line) - 1, si->si_syscall);
  AppendStr(line, n, sizeof(line) - 1, " (");
  int nr = si->si_syscall;
  AppendStr(line, n, sizeof(line) - 1, nr >= 0 && nr < kMaxNr && g_names[nr][0] ? g_names[nr].data() : "?");
  AppendStr(line, n, sizeof(line) - 1, "); failing it with ENOSYS\n");
  ssize_t ignored = write(2, line, n);
  if (g_log_fd >= 0) ignored = send(g_log_fd, line, n - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)ignored;
#if defined(__x86_64__)
  static_cast<ucontext_t*>(uc_void)->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#elif defined(__aarch64__)
  static_cast<ucontext_t*>(uc_void)->uc_mcontext.regs[0] = static_cast<unsigned long>(-ENOSYS);
#else
  (void)uc_void;
  _exit(2);  // no portable way to set the return value: stop here
#endif
  errno = saved;
}

void InstallTrapReporter(Role role) {
  for (int nr = 0; nr < kMaxNr; nr++) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name) {
      snprintf(g_names[nr].data(), g_names[nr].size(), "%s", name);
      free(name);  // libseccomp's allocation
    }
  }
  // "<PRI>tag[pid]: " - LOG_MAIL|LOG_WARNING = 2*8+4 = 20.
  snprintf(g_prefix, sizeof(g_prefix), "<20>%s[%d]: ", log::Tag().c_str(), static_cast<int>(getpid()));
  (void)role;
  struct sigaction sa{};
  sa.sa_sigaction = OnSigsys;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, nullptr) < 0) log::Fatal("sigaction SIGSYS: %s", strerror(errno));
}

void AddRule(scmp_filter_ctx ctx, const SyscallRule& r, uint32_t deflt) {
  int nr = seccomp_syscall_resolve_name(r.name);
  if (nr == __NR_SCMP_ERROR) log::Fatal("seccomp: unknown syscall name %s", r.name);
  if (nr < 0) return;  // a pseudo-syscall: absent on this architecture
  uint32_t act = r.act == Act::kAllow ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(r.err);
  if (act == deflt) return;
  int rc;
  if (r.cond.index < 0) {
    rc = seccomp_rule_add(ctx, act, nr, 0);
  } else {
    scmp_arg_cmp c = SCMP_CMP(static_cast<unsigned>(r.cond.index), SCMP_CMP_MASKED_EQ, r.cond.mask, r.cond.value);
    rc = seccomp_rule_add(ctx, act, nr, 1, c);
  }
  Check(rc, "rule_add", r.name);
}

}  // namespace

void ApplySyscalls(Confinement& c) {
  const uint32_t deflt = c.debug ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
  FilterPtr ctx(seccomp_init(deflt));
  if (!ctx) log::Fatal("seccomp_init failed");
  // Architecture check: only the native ABI (x32/i386 calls kill).
  Check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), "attr_set", "BADARCH");
  Check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 1), "attr_set", "CTL_NNP");
  for (const SyscallRule& r : BasePolicy()) AddRule(ctx.get(), r, deflt);
  for (const SyscallRule& r : RolePolicy(c.role)) AddRule(ctx.get(), r, deflt);
  if (c.forks) {
    int nr = seccomp_syscall_resolve_name("clone");
    Check(seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)),
          "rule_add", "clone");
  }
  if (c.debug) InstallTrapReporter(c.role);
  Check(seccomp_load(ctx.get()), "load", RoleName(c.role));
  if (log::Verbose()) log::Info("sandbox: seccomp %s policy loaded (%s)", RoleName(c.role),
            c.debug ? "debug: trap and log" : "kill on violation");
}

void PrepareTrapLog(bool debug) {
  if (!debug || g_log_fd >= 0) return;
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) log::Fatal("sandbox debug: socket: %s", strerror(errno));
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof(sun.sun_path), "/dev/log");
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) < 0) {
    log::Warn("sandbox debug: connect /dev/log: %s; trapped calls are reported on stderr only", strerror(errno));
    return;
  }
  g_log_fd = fd.release();  // lives as long as the process
}

}  // namespace pftls::sandbox
#endif  // __linux__
