// ipc/unix_socket.cc - see ipc/unix_socket.h.
#include "ipc/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace pftls::ipc {
namespace {

Result<sockaddr_un> Address(const std::string& path) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sun.sun_path)) return MakeError("socket path too long: " + path);
  std::memcpy(sun.sun_path, path.data(), path.size());
  return sun;
}

struct Reserve {
  bool on = false;
  bool told = false;
  std::vector<UniqueFd> fds;
  std::function<void()> on_empty;
};
Reserve& R() {
  static Reserve r;
  return r;
}

Result<UniqueFd> NewStreamSocket() {
  Reserve& r = R();
  if (!r.on) return UniqueFd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (r.fds.empty()) {
    if (!r.told && r.on_empty) {
      r.told = true;
      r.on_empty();
    }
    return MakeError("socket reserve exhausted");
  }
  UniqueFd fd = std::move(r.fds.back());
  r.fds.pop_back();
  return fd;
}

Error Errno(const std::string& what, const std::string& path) {
  return MakeError(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<UniqueFd> ListenUnix(const std::string& path, mode_t mode, int backlog) {
  Result<sockaddr_un> sun = Address(path);
  if (!sun) return std::move(sun).take_error();
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Errno("socket for", path);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("unlink", path);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&*sun), sizeof(*sun)) != 0) return Errno("bind", path);
  if (chmod(path.c_str(), mode) != 0) return Errno("chmod", path);
  if (listen(fd.get(), backlog) != 0) return Errno("listen on", path);
  return fd;
}

Result<UniqueFd> ConnectUnix(const std::string& path, bool* in_progress) {
  *in_progress = false;
  Result<sockaddr_un> sun = Address(path);
  if (!sun) return std::move(sun).take_error();
  Result<UniqueFd> made = NewStreamSocket();
  if (!made) return MakeError(made.error() + " for " + path);
  UniqueFd fd = std::move(*made);
  if (!fd) return Errno("socket for", path);
  int rc;
  do {
    rc = connect(fd.get(), reinterpret_cast<const sockaddr*>(&*sun), sizeof(*sun));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno != EINPROGRESS) {
      const int saved = errno;
      Error e = Errno("connect to", path);
      if (R().on && (saved == ENOENT || saved == ECONNREFUSED || saved == EAGAIN)) R().fds.push_back(std::move(fd));
      errno = saved;  // callers tell a full backlog (EAGAIN) from the rest
      return e;
    }
    *in_progress = true;
  }
  return fd;
}

Status ReserveUnixSockets(size_t n, std::function<void()> on_empty) {
  Reserve& r = R();
  for (size_t i = 0; i < n; i++) {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return MakeError(std::string("socket for the reserve: ") + std::strerror(errno));
    r.fds.push_back(std::move(fd));
  }
  r.on = true;
  r.told = false;
  r.on_empty = std::move(on_empty);
  return {};
}

size_t ReservedUnixSockets() { return R().fds.size(); }

}  // namespace pftls::ipc
