// util/daemon_watchdog.cc - the skeleton's watchdog (util/daemon.h): a
// blocked event loop is killed, an idle one is not.
//
// SIGALRM fires every timeout/3 seconds. When the loop has completed a
// pass since the previous alarm, the strike count resets and a byte on a
// self-pipe wakes the loop so that an idle loop completes a pass too.
// After three alarms in a row without a pass (one pass took longer than
// the timeout) the process logs "watchdog timeout" and exits.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/daemon_state.h"
#include "util/log.h"

namespace pftls::daemon {
namespace {

volatile sig_atomic_t g_passes = 0;
sig_atomic_t g_seen = -1;
int g_strikes = 0;
unsigned g_step = 0;
int g_wake_write = -1;
int g_wake_read = -1;
EventPtr g_wake_event;

void OnAlarm(int) {
  int saved = errno;
  if (g_passes != g_seen) {
    g_seen = g_passes;
    g_strikes = 0;
    char b = 0;
    ssize_t ignored = write(g_wake_write, &b, 1);
    (void)ignored;
  } else if (++g_strikes >= 3) {
    // Logging is not async-signal-safe; if it deadlocks, SIGALRM (now
    // default action) ends the process two seconds later.
    signal(SIGALRM, SIG_DFL);
    alarm(2);
    log::Fatal("watchdog timeout");
  }
  alarm(g_step);
  errno = saved;
}

void OnWake(evutil_socket_t fd, short, void*) {
  char buf[64];
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
}

}  // namespace

void WatchdogRearm() {
  if (g_step > 0) alarm(g_step);
}

void WatchdogStop() {
  alarm(0);
  signal(SIGALRM, SIG_DFL);
  g_wake_event.reset();  // before the event base it belongs to goes away
  if (g_wake_read >= 0) close(g_wake_read);
  if (g_wake_write >= 0) close(g_wake_write);
  g_wake_read = g_wake_write = -1;
  g_step = 0;
}

void WatchdogPass() { g_passes = g_passes + 1 == 0x7fffffff ? 0 : g_passes + 1; }

void WatchdogStart(event_base* base, long timeout_seconds) {
  if (timeout_seconds <= 0) return;
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) log::Fatal("watchdog pipe: %s", strerror(errno));
  g_wake_read = p[0];
  g_wake_write = p[1];
  g_wake_event.reset(event_new(base, g_wake_read, EV_READ | EV_PERSIST, OnWake, nullptr));
  event_add(g_wake_event.get(), nullptr);
  g_step = static_cast<unsigned>(timeout_seconds / 3 > 0 ? timeout_seconds / 3 : 1);
  struct sigaction sa = {};
  sa.sa_handler = OnAlarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGALRM, &sa, nullptr) < 0) log::Fatal("sigaction SIGALRM: %s", strerror(errno));
  alarm(g_step);
}

}  // namespace pftls::daemon
