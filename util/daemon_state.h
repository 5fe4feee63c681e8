// util/daemon_state.h - internal state of the daemon skeleton, shared by
// util/daemon_*.cc only (roles use util/daemon.h).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "util/daemon.h"
#include "util/handles.h"

namespace pftls::daemon {

// MultiConn - one connection owned by a multi server (event before fd).
struct MultiConn {
  UniqueFd fd;
  EventPtr ev;
};

// StdioRelay - -S with pipes: the role gets one end of a socketpair and
// the skeleton copies stdin -> inner and inner -> stdout.
struct StdioRelay {
  BufferEventPtr in;     // fd 0, read (none when stdin is a regular file)
  BufferEventPtr inner;  // our end of the socketpair (closed on free)
};

struct ServerState {
  EventBasePtr base;  // first member: destroyed last
  ServerSpec spec;
  Options opts;
  std::optional<config::Config> cfg;
  Mode mode = Mode::kMaster;
  unsigned generation = 0;
  bool report_ready = false;  // our master asked for a READY status record
  Server* server = nullptr;
  std::weak_ptr<ServerState> self;  // for Leases

  std::vector<UniqueFd> listen_fds;
  std::vector<EventPtr> listen_events;
  EventPtr accept_backoff;        // re-enables listeners after EMFILE & co.
  bool paused_taken = false;      // TAKEN while accepting is paused
  bool load_taken = false;        // TAKEN while this process is busy (kEvent)
  int busy_windows = 0;           // consecutive busy load windows
  bool told_taken = false;        // what master was last told (ReportAvail)
  long long load_wall = 0;        // start of the load window (ns, monotonic)
  long long load_cpu = 0;         // process CPU time then (ns)
  EventPtr load_timer;            // re-samples the load while TAKEN
  time_t accept_warned = 0;       // last "accept: ... pausing" warning
  EventPtr status_event;
  std::vector<EventPtr> signal_events;
  EventPtr idle_timer;
  EventPtr lifetime_timer;
  std::map<int, MultiConn> conns;  // kMulti
  std::unique_ptr<StdioRelay> relay;  // -S on pipes

  size_t leases = 0;      // kEvent
  long use_count = 0;
  long max_use = 0;       // 0: no limit
  long max_idle = 0;      // seconds; 0: no idle exit
  bool accepting = true;
  bool draining = false;
  bool stop = false;
  bool status_ok = false;  // fd 5 usable

  size_t Connections() const { return spec.flavour == Flavour::kMulti ? conns.size() : leases; }
};

// daemon_server.cc
void Notify(ServerState& s, int avail);
void StopAccepting(ServerState& s);
void ConnectionGone(ServerState& s);
void ConnectionCame(ServerState& s);
// daemon_load.cc
// ReportAvail - tell master TAKEN when paused or busy, else AVAIL (only
// changes are written).
void ReportAvail(ServerState& s);
// SampleLoad - an event server's CPU use over the last window decides
// load_taken (see daemon_load.cc).
void SampleLoad(ServerState& s);
// daemon_conn.cc
void ArmListeners(ServerState& s);
void StartStandalone(ServerState& s);
void CloseMultiConn(ServerState& s, int fd);
// daemon_stdio.cc
UniqueFd StartStdioRelay(ServerState& s);
void FinishStdioRelay(ServerState& s);
// daemon_watchdog.cc
void WatchdogStart(event_base* base, long timeout_seconds);
void WatchdogPass();
// WatchdogRearm - after fork (alarms are not inherited).
void WatchdogRearm();
// WatchdogStop - disarm and release the wake-up event (before the base).
void WatchdogStop();

}  // namespace pftls::daemon
