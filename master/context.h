// master/context.h - what every part of the master shares: the event
// base, the flow pipe, the environment for children, global settings.
#pragma once

#include <event2/event.h>

#include <string>
#include <vector>

#include "sandbox/jail.h"
#include "util/fd.h"

namespace pftls::master {

struct MasterContext {
  event_base* base = nullptr;
  std::string config_dir;
  sandbox::UserIds owner{0, 0};       // mail_owner
  unsigned generation = 1;            // bumped on each reload
  long throttle_time = 60;            // service_throttle_time
  int ceiling = 256;                  // hard cap for maxproc 0 services
  bool keep_stderr = false;           // -d: children share our stderr
  UniqueFd child_stderr;              // -d with stderr a file: a pipe to us (see master_main.cc)
  bool stopping = false;
  UniqueFd flow_read, flow_write;     // fds 3 and 4 of every child
  UniqueFd devnull;                   // stdin/stdout of every child
  std::vector<std::string> env;       // imported environment (no GENERATION)
};

}  // namespace pftls::master
