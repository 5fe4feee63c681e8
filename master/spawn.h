// master/spawn.h - fork+exec of one service process with the master(8)
// descriptor layout (util/master_proto.h), and wording of its death.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "master/context.h"
#include "util/result.h"

namespace pftls::master {

// Spawn - start path with argv; fds 0,1 = /dev/null, 2 = our stderr (-d)
// or /dev/null, 3/4 = flow pipe, 5 = status_write, 6.. = listeners; env =
// ctx.env plus GENERATION (octal, the pool's generation) and
// PFTLS_READY_STATUS=1. Returns the pid.
Result<pid_t> Spawn(const MasterContext& ctx, unsigned generation, const std::string& path,
                    const std::vector<std::string>& argv, int status_write, const std::vector<int>& listeners);

// DescribeExit - "exit status N" / "killed by signal N"; "" for exit 0.
std::string DescribeExit(int wait_status);

}  // namespace pftls::master
