// util/listen.cc - see util/listen.h.
#include "util/listen.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "util/log.h"

namespace pftls {

Result<UniqueFd> ListenUnix(const std::string& path, int backlog) {
  struct sockaddr_un sun = {};
  sun.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sun.sun_path)) return MakeError("unix socket path too long: " + path);
  memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return MakeError("not a socket, not removed: " + path);
    if (unlink(path.c_str()) < 0) return MakeError(log::Format("unlink %s: %s", path.c_str(), strerror(errno)));
  }
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return MakeError(log::Format("socket: %s", strerror(errno)));
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) < 0)
    return MakeError(log::Format("bind %s: %s", path.c_str(), strerror(errno)));
  if (chmod(path.c_str(), 0666) < 0) return MakeError(log::Format("chmod %s: %s", path.c_str(), strerror(errno)));
  if (listen(fd.get(), backlog) < 0) return MakeError(log::Format("listen %s: %s", path.c_str(), strerror(errno)));
  return fd;
}

Result<UniqueFd> ListenInet(const std::string& host, const std::string& port, int backlog) {
  struct addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  struct addrinfo* res = nullptr;
  const char* h = (host.empty() || host == "*") ? nullptr : host.c_str();
  if (h == nullptr) hints.ai_family = AF_INET;
  int rc = getaddrinfo(h, port.c_str(), &hints, &res);
  if (rc != 0) return MakeError(log::Format("address %s:%s: %s", host.c_str(), port.c_str(), gai_strerror(rc)));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, freeaddrinfo);
  UniqueFd fd(socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, res->ai_protocol));
  if (!fd) return MakeError(log::Format("socket: %s", strerror(errno)));
  int on = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (res->ai_family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  if (bind(fd.get(), res->ai_addr, res->ai_addrlen) < 0)
    return MakeError(log::Format("bind %s:%s: %s", host.c_str(), port.c_str(), strerror(errno)));
  if (listen(fd.get(), backlog) < 0)
    return MakeError(log::Format("listen %s:%s: %s", host.c_str(), port.c_str(), strerror(errno)));
  return fd;
}

Result<std::pair<std::string, std::string>> SplitHostPort(const std::string& text) {
  if (text.empty()) return MakeError("empty address");
  if (text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return MakeError("bad address: " + text);
    return std::make_pair(text.substr(1, close - 1), text.substr(close + 2));
  }
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return std::make_pair(std::string(), text);
  if (colon + 1 >= text.size()) return MakeError("bad address (no port): " + text);
  return std::make_pair(text.substr(0, colon), text.substr(colon + 1));
}

Result<std::vector<UniqueFd>> ListenFromSpec(const std::string& spec, int backlog) {
  std::vector<UniqueFd> out;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string item = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? spec.size() + 1 : comma + 1;
    if (item.empty()) continue;
    if (item.rfind("unix:", 0) == 0) {
      Result<UniqueFd> fd = ListenUnix(item.substr(5), backlog);
      if (!fd) return std::move(fd).take_error();
      out.push_back(std::move(*fd));
    } else if (item.rfind("inet:", 0) == 0) {
      auto hp = SplitHostPort(item.substr(5));
      if (!hp) return std::move(hp).take_error();
      Result<UniqueFd> fd = ListenInet(hp->first, hp->second, backlog);
      if (!fd) return std::move(fd).take_error();
      out.push_back(std::move(*fd));
    } else {
      return MakeError("bad listen address (want unix:PATH or inet:HOST:PORT): " + item);
    }
  }
  if (out.empty()) return MakeError("no listen address in: " + spec);
  return out;
}

}  // namespace pftls
