// master/pool.h - the process pool of one service: its listeners, its
// status pipe, its children and their TAKEN/AVAIL state, on-demand
// spawning (one more process when none is available), throttling after
// a bad start, and periodic wake-ups.
#pragma once

#include <sys/types.h>

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

class Pool {
 public:
  Pool(MasterContext& ctx, ServiceConfig cfg, std::vector<UniqueFd> listeners);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Start - status pipe, wake-up timer, listener watch; false on error.
  Status Start();
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
  void UpdateListenWatch();
  void SpawnOne();
  void Throttle();
  void ReadStatus();
  void SendWakeup();
  bool CanGrow() const;

  MasterContext& ctx_;
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
};

}  // namespace pftls::master
