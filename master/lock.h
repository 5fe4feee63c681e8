// master/lock.h - one master per instance: an exclusive flock on
// $data_directory/master.lock (holding our pid) and the pid file
// $queue_directory/pid/master.pid.
#pragma once

#include <string>

#include "util/fd.h"
#include "util/result.h"

namespace pftls::master {

class InstanceLock {
 public:
  // Acquire - lock and write our pid; error names the running master.
  Status Acquire(const std::string& lock_path, const std::string& pid_path);
  // Running - pid of the master holding lock_path, or 0 when none.
  static long Running(const std::string& lock_path);
  ~InstanceLock();

 private:
  UniqueFd lock_fd_;
  std::string pid_path_;
};

}  // namespace pftls::master
