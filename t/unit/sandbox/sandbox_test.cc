// Tests for sandbox/sandbox.h and the policy tables: every table is
// well-formed, each role's filter loads in a forked child (death tests),
// allowed calls keep working and forbidden ones end the child with
// SIGSYS (or fail with the errno the table names).
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "ipc/unix_socket.h"
#include "sandbox/policy.h"
#include "sandbox/sandbox.h"

namespace pftls {
namespace {

using sandbox::Role;

constexpr Role kRoles[] = {Role::kProxy, Role::kMgr, Role::kFront, Role::kGeneric};

void Confine(Role role, bool debug = false) {
  sandbox::Confinement c;
  c.role = role;
  c.debug = debug;
  sandbox::Apply(c);
}

TEST(SandboxPolicy, EveryLineNamesAKnownSyscallAndAReason) {
  auto check = [](std::span<const sandbox::SyscallRule> t) {
    for (const auto& r : t) {
      EXPECT_NE(seccomp_syscall_resolve_name(r.name), __NR_SCMP_ERROR) << r.name;
      EXPECT_TRUE(r.reason && *r.reason) << r.name;
      EXPECT_NE(std::string(r.name), "execve");
      EXPECT_NE(std::string(r.name), "ptrace");
    }
  };
  check(sandbox::BasePolicy());
  for (Role role : kRoles) check(sandbox::RolePolicy(role));
}

TEST(SandboxPolicy, ProgramNamesMapToRoles) {
  EXPECT_EQ(sandbox::RoleForProgram("tlsproxy"), Role::kProxy);
  EXPECT_EQ(sandbox::RoleForProgram("tlsmgr"), Role::kMgr);
  EXPECT_EQ(sandbox::RoleForProgram("smtpfront"), Role::kFront);
  EXPECT_EQ(sandbox::RoleForProgram("tlsfront"), Role::kFront);
  EXPECT_EQ(sandbox::RoleForProgram("echosvc"), Role::kGeneric);
}

// Each role: the filter loads and ordinary work (pipe I/O, time, memory) goes on.
TEST(SandboxDeathTest, EachRoleLoadsAndAllowsOrdinaryWork) {
  for (Role role : kRoles) {
    auto child = [role] {
      Confine(role);
      int p[2];
      if (pipe2(p, O_CLOEXEC) != 0) _exit(2);
      char b = 'x';
      if (write(p[1], &b, 1) != 1 || read(p[0], &b, 1) != 1) _exit(3);
      void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED || time(nullptr) == 0) _exit(4);
      std::string big(1 << 20, 'y');  // malloc via mmap
      _exit(big.size() == (1 << 20) ? 0 : 5);
    };
    EXPECT_EXIT(child(), ::testing::ExitedWithCode(0), "") << sandbox::RoleName(role);
  }
}

// Forbidden calls, each run by a forked death-test child after Confine().
[[noreturn]] void DoExecve(Role role) {
  Confine(role);
  char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
  execve("/bin/true", argv, environ);
  _exit(0);
}
[[noreturn]] void DoPtrace(Role role) {
  Confine(role);
  ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
  _exit(0);
}
[[noreturn]] void DoMprotectExec(Role role) {
  Confine(role);
  void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect(m, 4096, PROT_READ | PROT_EXEC);
  _exit(0);
}
[[noreturn]] void DoSocket(Role role, int family, bool debug = false) {
  Confine(role, debug);
  int fd = socket(family, SOCK_STREAM, 0);
  _exit(fd >= 0 ? 0 : errno == EACCES ? 13 : errno == ENOSYS ? 38 : 1);
}
[[noreturn]] void DoOpen(Role role, int flags) {
  Confine(role);
  int fd = open("/tmp/pftls-sandbox-test-never", flags, 0600);
  _exit(fd >= 0 ? 0 : errno == EACCES ? 13 : 1);
}

TEST(SandboxDeathTest, ExecvePtraceAndExecutableMemoryKillEveryRole) {
  for (Role role : kRoles) {
    SCOPED_TRACE(sandbox::RoleName(role));
    EXPECT_EXIT(DoExecve(role), ::testing::KilledBySignal(SIGSYS), "");
    EXPECT_EXIT(DoPtrace(role), ::testing::KilledBySignal(SIGSYS), "");
    EXPECT_EXIT(DoMprotectExec(role), ::testing::KilledBySignal(SIGSYS), "");
  }
}

TEST(SandboxDeathTest, ProxyMakesNoSockets) {
  EXPECT_EXIT(DoSocket(Role::kProxy, AF_INET), ::testing::KilledBySignal(SIGSYS), "");
  EXPECT_EXIT(DoSocket(Role::kProxy, AF_INET6), ::testing::KilledBySignal(SIGSYS), "");
  EXPECT_EXIT(DoSocket(Role::kProxy, AF_UNIX), ::testing::ExitedWithCode(13), "");
}

TEST(SandboxDeathTest, FrontMakesInetSocketsButNoFiles) {
  EXPECT_EXIT(DoSocket(Role::kFront, AF_INET), ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(DoSocket(Role::kFront, AF_NETLINK), ::testing::KilledBySignal(SIGSYS), "");
  EXPECT_EXIT(DoOpen(Role::kFront, O_RDONLY), ::testing::ExitedWithCode(13), "");
  EXPECT_EXIT(DoOpen(Role::kFront, O_WRONLY | O_CREAT), ::testing::KilledBySignal(SIGSYS), "");
}

TEST(SandboxDeathTest, MgrHasUnixSocketsOnlyAndNoFilesOutsideItsData) {
  EXPECT_EXIT(DoSocket(Role::kMgr, AF_INET6), ::testing::KilledBySignal(SIGSYS), "");
  EXPECT_EXIT(DoSocket(Role::kMgr, AF_UNIX), ::testing::ExitedWithCode(0), "");
  // No data paths here: Landlock (when present) refuses every file.
  if (syscall(SYS_landlock_create_ruleset, nullptr, 0, 1) > 0) {
    EXPECT_EXIT(DoOpen(Role::kMgr, O_WRONLY | O_CREAT), ::testing::ExitedWithCode(13), "");
  }
}

// Debug mode: the forbidden call is reported and fails with ENOSYS.
TEST(SandboxDeathTest, DebugModeTrapsLogsAndContinues) {
  EXPECT_EXIT(DoSocket(Role::kProxy, AF_INET, true), ::testing::ExitedWithCode(38),
              "trapped forbidden syscall 41 \\(socket\\)");
}

TEST(SandboxDeathTest, SelftestRefusesUnknownNames) {
  EXPECT_EXIT(sandbox::RunSelftest("no-such-test"), ::testing::ExitedWithCode(1), "unknown test");
}

// The socket reserve: refused connects give the socket back; an empty
// reserve fails and reports once.
[[noreturn]] void ReserveScenario() {
  int told = 0;
  if (!ipc::ReserveUnixSockets(1, [&told] { told++; }).ok()) _exit(2);
  char dir[] = "/tmp/pftls-reserve.XXXXXX";
  if (!mkdtemp(dir)) _exit(3);
  std::string path = std::string(dir) + "/s";
  bool in_progress;
  if (ipc::ConnectUnix(path, &in_progress).ok() || ipc::ReservedUnixSockets() != 1) _exit(4);
  auto l = ipc::ListenUnix(path);
  if (!l) _exit(5);
  auto c1 = ipc::ConnectUnix(path, &in_progress);
  if (!c1 || ipc::ReservedUnixSockets() != 0) _exit(6);
  auto c2 = ipc::ConnectUnix(path, &in_progress);
  auto c3 = ipc::ConnectUnix(path, &in_progress);
  unlink(path.c_str());
  rmdir(dir);
  _exit(!c2 && !c3 && told == 1 ? 0 : 7);
}

TEST(SandboxDeathTest, UnixSocketReserve) { EXPECT_EXIT(ReserveScenario(), ::testing::ExitedWithCode(0), ""); }

}  // namespace
}  // namespace pftls
