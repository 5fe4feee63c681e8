// sandbox/policy_roles.cc - what each role adds to sandbox/policy_base.cc
// (R11), and the program-name -> role mapping. Absent from every table
// (so fatal): execve/execveat, ptrace, process_vm_*, setuid & co., chroot,
// mount, bpf, kexec, module loading, keyctl, personality, pkey_mprotect.
#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include "sandbox/policy.h"

namespace pftls::sandbox {
namespace {

constexpr uint64_t kWriteFlags = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND;

// tlsproxy: TLS over descriptors it receives; no files, no new sockets.
// The tlsmgr connection uses sockets made before the jail
// (ipc/unix_socket.h ReserveUnixSockets).
constexpr SyscallRule kProxy[] = {
    DenyIf("openat", EACCES, 2, O_CREAT, 0, "OpenSSL may probe files; reading fails, O_CREAT kills"),
    DenyIf("socket", EACCES, 0, 0xffffffffu, AF_UNIX,
           "glibc syslog reopening /dev/log fails; every other family kills"),
};

// tlsmgr: its cache files and PRNG exchange file (Landlock limits where),
// AF_UNIX only (syslog reconnect, egd: entropy sockets).
constexpr SyscallRule kMgr[] = {
    Allow("openat", "SQLite cache files and the PRNG exchange file; Landlock limits the paths"),
    Allow("pread64", "SQLite page reads"),
    Allow("pwrite64", "SQLite page writes"),
    Allow("fsync", "SQLite commit, PRNG exchange update"),
    Allow("fdatasync", "SQLite commit"),
    Allow("ftruncate", "SQLite journal/file truncation"),
    Allow("unlink", "SQLite journal removal"),
    Allow("unlinkat", "SQLite journal removal"),
    Allow("rename", "a damaged cache file is moved aside (.corrupt-<time>), same directory"),
    Allow("renameat", "a damaged cache file is moved aside (libc may use renameat)"),
    Allow("renameat2", "a damaged cache file is moved aside (libc may use renameat2)"),
    Allow("flock", "PRNG exchange file lock"),
    Allow("fchmod", "SQLite sets file modes"),
    Allow("fchown", "SQLite keeps the owner of journal files"),
    Allow("access", "SQLite probes journal files"),
    Allow("faccessat", "SQLite probes journal files (glibc access())"),
    Allow("getcwd", "SQLite full path names"),
    Allow("readlink", "SQLite resolves symlinks of the database path"),
    Allow("stat", "SQLite"),
    Allow("lstat", "SQLite"),
    AllowIf("socket", 0, 0xffffffffu, AF_UNIX, "glibc syslog reconnect, egd: entropy source"),
    AllowIf("socketpair", 0, 0xffffffffu, AF_UNIX, "the skeleton's -S mode on a pipe or file"),
};

// smtpfront / tlsfront: SMTP to the network, hand-off to tlsproxy,
// relaying to the back end; no files.
constexpr SyscallRule kFront[] = {
    DenyIf("openat", EACCES, 2, O_CREAT, 0, "glibc/OpenSSL probes fail; O_CREAT kills"),
    AllowIf("socket", 0, 0xffffffffu, AF_UNIX, "hand-off to tlsproxy, UNIX back ends, syslog"),
    AllowIf("socket", 0, 0xffffffffu, AF_INET, "TCP back ends (relayhost)"),
    AllowIf("socket", 0, 0xffffffffu, AF_INET6, "TCP back ends (relayhost)"),
    Allow("bind", "none by default; kept for a source address of back-end connections"),
    AllowIf("socketpair", 0, 0xffffffffu, AF_UNIX, "the skeleton's -S mode on a pipe or file"),
};

// Any other master child (test services): read-only files, ordinary sockets.
constexpr SyscallRule kGeneric[] = {
    AllowIf("openat", 2, kWriteFlags, O_RDONLY, "read-only opens; any write or create kills"),
    AllowIf("socket", 0, 0xffffffffu, AF_UNIX, "UNIX-domain clients, syslog"),
    AllowIf("socket", 0, 0xffffffffu, AF_INET, "TCP clients"),
    AllowIf("socket", 0, 0xffffffffu, AF_INET6, "TCP clients"),
    AllowIf("socketpair", 0, 0xffffffffu, AF_UNIX, "the skeleton's -S mode on a pipe or file"),
};

}  // namespace

std::span<const SyscallRule> RolePolicy(Role role) {
  switch (role) {
    case Role::kProxy: return kProxy;
    case Role::kMgr: return kMgr;
    case Role::kFront: return kFront;
    case Role::kGeneric: return kGeneric;
  }
  return {};
}

Role RoleForProgram(const std::string& program) {
  if (program == "tlsproxy") return Role::kProxy;
  if (program == "tlsmgr") return Role::kMgr;
  if (program == "smtpfront" || program == "tlsfront") return Role::kFront;
  return Role::kGeneric;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kProxy: return "tlsproxy";
    case Role::kMgr: return "tlsmgr";
    case Role::kFront: return "smtpfront";
    case Role::kGeneric: return "generic";
  }
  return "?";
}

}  // namespace pftls::sandbox
