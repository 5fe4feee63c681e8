/*++
 * NAME
 *	util/fd.h - move-only owner of a file descriptor
 * SYNOPSIS
 *	#include "util/fd.h"
 *
 *	UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
 *	if (!fd) ...;
 *	int raw = fd.get();
 *	int given_away = fd.release();
 *	fd.reset(other);
 * DESCRIPTION
 *	UniqueFd closes its descriptor exactly once, in its destructor or in
 *	reset(). It is the only way code in pftls holds a descriptor it owns;
 *	a descriptor received from the network (SCM_RIGHTS) is wrapped before
 *	anything else can fail.
 *
 *	SetNonBlocking(), SetCloseOnExec() - set the flag; return false and
 *	leave errno set on failure.
 * SECURITY
 *	close() is never retried on EINTR (Linux always releases the fd).
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <utility>

namespace pftls {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0 && fd_ != fd) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

inline bool SetNonBlocking(int fd, bool on = true) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  int want = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  return want == flags || fcntl(fd, F_SETFL, want) == 0;
}

inline bool SetCloseOnExec(int fd, bool on = true) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return false;
  int want = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  return want == flags || fcntl(fd, F_SETFD, want) == 0;
}

}  // namespace pftls
