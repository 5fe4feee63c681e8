// Tests for sandbox/jail.h and the skeleton's watchdog: each runs in a
// forked child (death tests), since the jail and SIGALRM are one-way.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "sandbox/jail.h"
#include "util/daemon_state.h"
#include "util/handles.h"

namespace pftls {
namespace {

TEST(Jail, UseraddHintNamesTheUser) {
  EXPECT_EQ(sandbox::UseraddHint("pftls"), "useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin pftls");
  EXPECT_FALSE(sandbox::LookupUser("pftls-no-such-user-xyz").ok());
}

// As root: chroot + drop to "postfix"; hooks run in order; the result is
// verified from inside; fork is refused (RLIMIT_NPROC 0).
TEST(JailDeathTest, FullSequenceAsRoot) {
  if (geteuid() != 0 || !sandbox::LookupUser("postfix").ok()) GTEST_SKIP() << "needs root and a postfix user";
  char dir[] = "/tmp/pftls-jail.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  auto child = [&] {
    std::string order;
    sandbox::JailSpec spec{"test", dir, "postfix", false, 0};
    spec.confine = false;  // the seccomp/Landlock step has its own tests (sandbox_test.cc)
    sandbox::EnterJail(spec, {.pre_jail = [&] { order += "pre,"; },
                              .post_jail = [&] { order += "post"; }});
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    struct rlimit rl;
    getrlimit(RLIMIT_NPROC, &rl);
    char cwd[64] = {};
    bool ok = order == "pre,post" && r != 0 && e == r && s == r && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 &&
              rl.rlim_max == 0 && getcwd(cwd, sizeof(cwd)) && std::string(cwd) == "/" && access("/etc/passwd", F_OK) != 0 &&
              fork() < 0;
    _exit(ok ? 0 : 3);
  };
  EXPECT_EXIT(child(), ::testing::ExitedWithCode(0), "");
  rmdir(dir);
}

TEST(JailDeathTest, MissingUserIsFatalWithHint) {
  auto child = [] {
    sandbox::EnterJail({"test", "", "pftls-no-such-user-xyz", true, 0}, {});
    _exit(0);
  };
  EXPECT_EXIT(child(), ::testing::ExitedWithCode(1), "useradd --system");
}

// A loop that keeps passing survives several watchdog periods.
TEST(WatchdogDeathTest, IdleLoopSurvives) {
  auto child = [] {
    EventBasePtr base(event_base_new());
    daemon::WatchdogStart(base.get(), 3);
    time_t end = time(nullptr) + 5;
    while (time(nullptr) < end) {
      event_base_loop(base.get(), EVLOOP_ONCE);
      daemon::WatchdogPass();
    }
    _exit(0);
  };
  EXPECT_EXIT(child(), ::testing::ExitedWithCode(0), "");
}

// A pass that blocks longer than the timeout is killed.
TEST(WatchdogDeathTest, BlockedLoopIsKilled) {
  auto child = [] {
    EventBasePtr base(event_base_new());
    daemon::WatchdogStart(base.get(), 3);
    time_t end = time(nullptr) + 10;
    while (time(nullptr) < end) pause();  // never returns to the loop
    _exit(0);
  };
  EXPECT_EXIT(child(), ::testing::ExitedWithCode(1), "watchdog timeout");
}

}  // namespace
}  // namespace pftls
