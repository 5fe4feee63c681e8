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
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Errno("socket for", path);
  int rc;
  do {
    rc = connect(fd.get(), reinterpret_cast<const sockaddr*>(&*sun), sizeof(*sun));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno != EINPROGRESS) return Errno("connect to", path);
    *in_progress = true;
  }
  return fd;
}

}  // namespace pftls::ipc
