// util/daemon_load.cc - how an event server tells master it is busy.
//
// Postfix's event servers write a TAKEN/AVAIL pair around each accept
// (spec §4.1), so master sees a pool busy only in the instant a process
// is inside accept(). With master on another core that instant is seen
// all the time: measured, 16 TLS clients on 2 cores grew the tlsproxy
// pool to 3-7 processes, each sleeping and waking per event instead of
// batching (12 context switches per session against 4.5 with 2
// processes; 740-780 against 560-590 CPU us per full TLS 1.2 session),
// and every accept cost two status writes and a master wake-up.
//
// So after the first client's pair (a completed use, spec §8: a crash
// after it is not a "bad command startup"), an event server reports what
// master needs to know: it is TAKEN while its own CPU use over the last
// kLoadWindow is at least kBusyHigh of one core (one event loop cannot do
// more: another process would help) in kBusyWindows windows in a row,
// and AVAIL again when a window falls below kBusyLow. The
// figure is sampled at accepts (one clock_gettime per window) and, while
// TAKEN, by a timer, so a process that stops getting clients turns
// AVAIL again. Paused accepting (EMFILE) is TAKEN as well.
#include <ctime>

#include "util/daemon_state.h"
#include "util/master_proto.h"

namespace pftls::daemon {
namespace {

constexpr double kBusyHigh = 0.85;
constexpr double kBusyLow = 0.5;
constexpr long kLoadWindowNs = 100'000'000;
// kBusyWindows - consecutive busy windows before TAKEN: a burst (a fresh
// process's first handshakes, a benchmark's warm-up) is not load.
constexpr int kBusyWindows = 3;

long long Now(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void OnLoadTimer(evutil_socket_t, short, void* arg) { SampleLoad(*static_cast<ServerState*>(arg)); }

}  // namespace

void ReportAvail(ServerState& s) {
  if (!s.accepting) return;  // StopAccepting() said TAKEN for good
  bool taken = s.paused_taken || s.load_taken;
  if (taken == s.told_taken) return;
  s.told_taken = taken;
  Notify(s, taken ? master_proto::kStatTaken : master_proto::kStatAvail);
}

void SampleLoad(ServerState& s) {
  long long wall = Now(CLOCK_MONOTONIC);  // vDSO: no system call
  if (s.load_wall != 0 && wall - s.load_wall < kLoadWindowNs) return;
  long long cpu = Now(CLOCK_PROCESS_CPUTIME_ID);
  if (s.load_wall != 0) {
    double busy = static_cast<double>(cpu - s.load_cpu) / static_cast<double>(wall - s.load_wall);
    s.busy_windows = busy >= kBusyHigh ? s.busy_windows + 1 : 0;
    if (!s.load_taken && s.busy_windows >= kBusyWindows) {
      s.load_taken = true;
    } else if (s.load_taken && busy < kBusyLow) {
      s.load_taken = false;
    }
  }
  s.load_wall = wall;
  s.load_cpu = cpu;
  if (s.load_taken) {
    if (!s.load_timer) s.load_timer.reset(evtimer_new(s.base.get(), OnLoadTimer, &s));
    timeval tv{0, kLoadWindowNs / 1000};
    if (s.load_timer) evtimer_add(s.load_timer.get(), &tv);
  } else if (s.load_timer) {
    evtimer_del(s.load_timer.get());
  }
  ReportAvail(s);
}

}  // namespace pftls::daemon
