// master/listeners.cc - see master/listeners.h.
#include "master/listeners.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/listen.h"
#include "util/log.h"

namespace pftls::master {

Status EnsureDirectory(const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
  if (mkdir(path.c_str(), mode) < 0 && errno != EEXIST)
    return MakeError(log::Format("mkdir %s: %s", path.c_str(), strerror(errno)));
  struct stat st;
  if (lstat(path.c_str(), &st) < 0) return MakeError(log::Format("stat %s: %s", path.c_str(), strerror(errno)));
  if (!S_ISDIR(st.st_mode)) return MakeError(path + " is not a directory");
  if ((st.st_uid != uid || st.st_gid != gid) && chown(path.c_str(), uid, gid) < 0)
    return MakeError(log::Format("chown %s: %s", path.c_str(), strerror(errno)));
  if ((st.st_mode & 07777) != mode && chmod(path.c_str(), mode) < 0)
    return MakeError(log::Format("chmod %s: %s", path.c_str(), strerror(errno)));
  return Status::Ok();
}

Result<std::vector<UniqueFd>> OpenListeners(const ServiceConfig& svc, const sandbox::UserIds& owner) {
  std::vector<UniqueFd> out;
  for (const std::string& addr : svc.addresses) {
    if (svc.type == "unix") {
      Result<UniqueFd> fd = ListenUnix(addr, kListenBacklog);
      if (!fd) return std::move(fd).take_error();
      if (chown(addr.c_str(), owner.uid, owner.gid) < 0)
        return MakeError(log::Format("chown %s: %s", addr.c_str(), strerror(errno)));
      out.push_back(std::move(*fd));
    } else {
      auto hp = SplitHostPort(addr);
      if (!hp) return std::move(hp).take_error();
      Result<UniqueFd> fd = ListenInet(hp->first, hp->second, kListenBacklog);
      if (!fd) return std::move(fd).take_error();
      out.push_back(std::move(*fd));
    }
  }
  return out;
}

}  // namespace pftls::master
