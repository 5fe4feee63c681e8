// master/listeners.h - the listening sockets of one service and the
// directories they live in (private/ 0700, public/ 0710, mail_owner).
#pragma once

#include <string>
#include <vector>

#include "master/service.h"
#include "sandbox/jail.h"
#include "util/fd.h"
#include "util/result.h"

namespace pftls::master {

inline constexpr int kListenBacklog = 100;

// OpenListeners - one socket per address of the service; UNIX sockets are
// owned by mail_owner with mode 0666 (access is decided by the directory).
Result<std::vector<UniqueFd>> OpenListeners(const ServiceConfig& svc, const sandbox::UserIds& owner);

// EnsureDirectory - mkdir when missing, then force owner and mode.
Status EnsureDirectory(const std::string& path, uid_t uid, gid_t gid, mode_t mode);

}  // namespace pftls::master
