// master/lock.cc - see master/lock.h.
#include "master/lock.h"

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/log.h"

namespace pftls::master {
namespace {

long ReadPid(int fd) {
  char buf[32] = {};
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  return n > 0 ? atol(buf) : 0;
}

Status WritePid(int fd, const std::string& path) {
  std::string text = log::Format("%10ld\n", static_cast<long>(getpid()));
  if (ftruncate(fd, 0) < 0 || pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    return MakeError(log::Format("write %s: %s", path.c_str(), strerror(errno)));
  return Status::Ok();
}

}  // namespace

Status InstanceLock::Acquire(const std::string& lock_path, const std::string& pid_path) {
  UniqueFd fd(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return MakeError(log::Format("open lock file %s: %s", lock_path.c_str(), strerror(errno)));
  if (flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK)
      return MakeError(log::Format("the master is already running (pid %ld; lock %s)", ReadPid(fd.get()),
                                   lock_path.c_str()));
    return MakeError(log::Format("lock %s: %s", lock_path.c_str(), strerror(errno)));
  }
  if (Status st = WritePid(fd.get(), lock_path); !st) return st;
  UniqueFd pid_fd(open(pid_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!pid_fd) return MakeError(log::Format("open pid file %s: %s", pid_path.c_str(), strerror(errno)));
  if (Status st = WritePid(pid_fd.get(), pid_path); !st) return st;
  lock_fd_ = std::move(fd);
  pid_path_ = pid_path;
  return Status::Ok();
}

long InstanceLock::Running(const std::string& lock_path) {
  UniqueFd fd(open(lock_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return 0;
  if (flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return 0;
  return ReadPid(fd.get());
}

InstanceLock::~InstanceLock() {
  if (lock_fd_) unlink(pid_path_.c_str());
}

}  // namespace pftls::master
