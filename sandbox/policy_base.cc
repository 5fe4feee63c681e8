// sandbox/policy_base.cc - the seccomp lines every role shares (R11).
// Anything not listed here or in the role's table kills the process
// (SECCOMP_RET_KILL_PROCESS; SIGSYS trap in debug mode).
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>

#include "sandbox/policy.h"

namespace pftls::sandbox {
namespace {

constexpr SyscallRule kBase[] = {
    // Calls glibc tries first and falls back from when they fail with ENOSYS.
    Deny("clone3", ENOSYS, "glibc posix_spawn/pthread try clone3 first; nothing here may create tasks"),
    Deny("faccessat2", ENOSYS, "glibc access()/faccessat() fall back to faccessat"),
    Deny("openat2", ENOSYS, "never used directly; fail like an old kernel"),
    Deny("statx", ENOSYS, "glibc stat() falls back to newfstatat"),
    Deny("epoll_pwait2", ENOSYS, "libevent/glibc fall back to epoll_wait"),
    Deny("close_range", ENOSYS, "glibc closefrom() fallback; nothing here needs it"),
    Allow("rseq", "glibc registers restartable sequences per thread"),
    // Basic I/O on descriptors the process already holds.
    Allow("read", "sockets, pipes, the watchdog self-pipe"),
    Allow("write", "sockets, the watchdog self-pipe, stderr logging"),
    Allow("readv", "libevent evbuffer reads"),
    Allow("writev", "libevent evbuffer writes, glibc syslog"),
    Allow("close", "end of a session"),
    Allow("fstat", "glibc stdio and OpenSSL BIO on held descriptors"),
    Allow("newfstatat", "glibc fstat() is newfstatat(fd, \"\", AT_EMPTY_PATH)"),
    Allow("lseek", "glibc stdio on held descriptors"),
    Allow("fcntl", "O_NONBLOCK/FD_CLOEXEC on accepted and received descriptors"),
    Allow("dup", "libevent/glibc duplicate held descriptors"),
    Allow("pipe2", "the skeleton's watchdog self-pipe, made after the jail (no file, no socket)"),
    AllowIf("ioctl", 1, 0xffffffffu, FIONREAD, "libevent evbuffer_read sizes its read with FIONREAD"),
    DenyIf("ioctl", ENOTTY, 1, 0xffffffffu, TCGETS, "glibc isatty() on stderr"),
    // Sockets already open: accept, receive hand-offs, talk, log.
    Allow("accept4", "the skeleton accepts on master's listeners"),
    Allow("accept", "the skeleton accepts on master's listeners (older libevent path)"),
    Allow("recvfrom", "socket reads"),
    Allow("sendto", "socket writes; glibc syslog and postlogd send()"),
    Allow("recvmsg", "descriptor hand-off (SCM_RIGHTS) and socket reads"),
    Allow("sendmsg", "descriptor hand-off replies and socket writes"),
    Allow("shutdown", "half-close at the end of a relay"),
    Allow("getsockopt", "SO_ERROR after a non-blocking connect"),
    Allow("setsockopt", "TCP_NODELAY / SO_KEEPALIVE on accepted sockets"),
    Allow("getsockname", "the local address of an accepted connection"),
    Allow("getpeername", "the remote address of an accepted connection"),
    Allow("connect", "glibc syslog reconnects /dev/log; roles connect sockets they may hold"),
    // Event loop.
    Allow("epoll_wait", "libevent epoll back end"),
    Allow("epoll_pwait", "libevent epoll back end (newer glibc)"),
    Allow("epoll_ctl", "libevent epoll back end"),
    Allow("poll", "ipc/client_sync and glibc waits"),
    Allow("ppoll", "glibc poll() on some architectures"),
    Allow("select", "libevent select back end fallback"),
    Allow("pselect6", "glibc select()"),
    // Memory; never executable.
    AllowIf("mmap", 2, PROT_EXEC, 0, "malloc and OpenSSL; PROT_EXEC kills"),
    AllowIf("mprotect", 2, PROT_EXEC, 0, "malloc guard pages; PROT_EXEC kills"),
    Allow("munmap", "malloc"),
    Allow("mremap", "malloc realloc of large blocks"),
    Allow("brk", "malloc"),
    Allow("madvise", "malloc trims freed memory"),
    // Signals and time.
    Allow("rt_sigaction", "SIGALRM watchdog, SIGTERM, SIGSYS debug handler"),
    Allow("rt_sigprocmask", "libevent and glibc mask signals around critical parts"),
    Allow("rt_sigreturn", "return from a signal handler"),
    Allow("sigaltstack", "glibc"),
    Allow("restart_syscall", "kernel restarts an interrupted sleep"),
    Allow("alarm", "watchdog timer"),
    Allow("setitimer", "watchdog timer (glibc alarm())"),
    Allow("getitimer", "watchdog timer"),
    Allow("clock_gettime", "time (vDSO fallback)"),
    Allow("clock_getres", "libevent monotonic clock probe"),
    Allow("gettimeofday", "time (vDSO fallback)"),
    Allow("time", "time (vDSO fallback)"),
    Allow("nanosleep", "back-off sleeps"),
    Allow("clock_nanosleep", "glibc sleep()/nanosleep()"),
    // Identity and randomness.
    Allow("getpid", "log lines carry the pid"),
    Allow("gettid", "glibc/OpenSSL thread ids"),
    Allow("getuid", "glibc/OpenSSL checks (no way to change ids: setuid is not listed)"),
    Allow("geteuid", "glibc/OpenSSL checks"),
    Allow("getgid", "glibc/OpenSSL checks"),
    Allow("getegid", "glibc/OpenSSL checks"),
    Allow("getrandom", "OpenSSL DRBG seeding and reseeding"),
    Allow("uname", "OpenSSL/glibc version probes"),
    Allow("sysinfo", "glibc sysconf queries"),
    Allow("getrusage", "OpenSSL entropy additions"),
    Allow("sched_getaffinity", "glibc sysconf(_SC_NPROCESSORS_ONLN)"),
    AllowIf("prlimit64", 2, ~uint64_t(0), 0, "glibc getrlimit: reading only (new_limit NULL)"),
    // Threads/locks (OpenSSL may take futexes), and exit.
    Allow("futex", "OpenSSL and glibc locks"),
    Allow("sched_yield", "glibc spin locks"),
    Allow("set_robust_list", "glibc"),
    AllowIf("tgkill", 2, 0xffffffffu, SIGABRT, "abort() raising SIGABRT on itself"),
    Allow("exit", "thread exit"),
    Allow("exit_group", "process exit"),
};

}  // namespace

std::span<const SyscallRule> BasePolicy() { return kBase; }

}  // namespace pftls::sandbox
