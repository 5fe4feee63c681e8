// master/pool.h - the process pool of one service: its listeners, its
// status pipe, its children and their TAKEN/AVAIL state, on-demand
// spawning (one more process when none is available), throttling after
// a bad start, and periodic wake-ups.
//
// Probation (reload): a pool that replaces one whose processes still
// serve starts one process at once and watches no listener until that
// process reports READY (or any status, or is alive after
// kProbeSeconds): then the owner retires the old pool (on_proven). If
// the process dies first, ProbeFailed() says so and the owner keeps
// the old pool serving.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "master/context.h"
#include "master/service.h"
#include "util/handles.h"

namespace pftls::master {

struct Child {
  unsigned generation = 0;
  bool avail = true;  // a new child counts as available
  long uses = 0;      // completed TAKEN -> AVAIL transitions
  bool taken = false;  // ever reported TAKEN
};

inline constexpr int kProbeSeconds = 10;

class Pool {
 public:
  Pool(MasterContext& ctx, ServiceConfig cfg, std::vector<UniqueFd> listeners);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Start - status pipe, wake-up timer, listener watch; false on error.
  Status Start();
  // StartProbation - Start(), then one process at once and no listener
  // watch until it proves itself; on_proven runs once, from the loop.
  Status StartProbation(std::function<void()> on_proven);
  bool ProbeFailed() const { return probe_ == Probe::kFailed; }
  // HoldSize - after a failed probation of its replacement: start no new
  // process (it would read the broken configuration, fail and throttle);
  // the running ones serve. Ends when the last one has exited.
  void HoldSize();
  const std::string& ProbeFailure() const { return probe_why_; }
  // DupListeners - copies of the listening sockets (for a probation pool).
  Result<std::vector<UniqueFd>> DupListeners() const;
  const ServiceConfig& cfg() const { return cfg_; }
  // TakeListeners - hand the sockets to the pool that replaces this one.
  std::vector<UniqueFd> TakeListeners();
  // Retire - close the status pipe (children drain and exit); returns
  // their pids, which this pool forgets.
  std::vector<pid_t> Retire();
  // OnChildExit - true when pid was ours: log, count, maybe throttle.
  bool OnChildExit(pid_t pid, int wait_status);
  void SignalAll(int sig);
  size_t ProcessCount() const { return children_.size(); }
  int AvailCount() const { return avail_; }

 private:
  static void OnListenReadable(evutil_socket_t, short, void*);
  static void OnStatusReadable(evutil_socket_t, short, void*);
  static void OnThrottleEnd(evutil_socket_t, short, void*);
  static void OnWakeupTimer(evutil_socket_t, short, void*);
  static void OnProbeTimer(evutil_socket_t, short, void*);
  void Proven();
  void UpdateListenWatch();
  void SpawnOne();
  void Throttle();
  void ReadStatus();
  void SendWakeup();
  bool CanGrow() const;

  enum class Probe { kNone, kRunning, kFailed };

  MasterContext& ctx_;
  unsigned generation_;  // ctx_.generation when this pool was made
  ServiceConfig cfg_;
  std::vector<UniqueFd> listeners_;
  std::vector<EventPtr> listen_events_;
  bool watching_ = false;
  UniqueFd status_read_, status_write_;
  EventPtr status_event_;
  EventPtr throttle_timer_;
  EventPtr wakeup_timer_;
  std::map<pid_t, Child> children_;
  std::string status_buf_;
  int avail_ = 0;
  bool throttled_ = false;
  bool used_ = false;  // a process was started on demand at least once
  bool held_ = false;  // HoldSize()
  Probe probe_ = Probe::kNone;
  pid_t probe_pid_ = -1;
  std::string probe_why_;
  EventPtr probe_timer_;
  std::function<void()> on_proven_;
};

}  // namespace pftls::master
