// master/service.h - one master.cf entry resolved against main.cf: what
// to listen on, what to exec with which argv, and the process limit.
#pragma once

#include <string>
#include <vector>

#include "util/config.h"
#include "util/result.h"

namespace pftls::master {

struct ServiceConfig {
  std::string name;            // master.cf service field
  std::string type;            // unix | inet
  bool private_ = true;
  int wakeup = 0;              // seconds; 0 = none
  bool wakeup_conditional = false;
  int maxproc = 1;             // resolved; 0 = grow with load
  std::string path;            // $daemon_directory/command
  std::vector<std::string> argv;
  std::vector<std::string> addresses;  // unix: socket paths; inet: host:port
  std::string origin;          // "master.cf, line N"

  std::string Key() const { return name + "/" + type; }
  // SameListeners - the listening sockets can be kept across a reload.
  bool SameListeners(const ServiceConfig& o) const { return type == o.type && addresses == o.addresses; }
};

struct ArgvOptions {
  int verbose = 0;        // -v count passed to each child
  bool log_stderr = false;  // pass -V (master runs with -d)
};

// ResolveServices - master.cf entries to ServiceConfig; unsupported types
// are skipped with a warning; errors name the master.cf line.
Result<std::vector<ServiceConfig>> ResolveServices(const config::Config& cfg,
                                                   const std::vector<config::MasterService>& entries,
                                                   const ArgvOptions& opts);

}  // namespace pftls::master
