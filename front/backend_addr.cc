// front/backend_addr.cc - see front/backend_addr.h.
#include "front/backend_addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>

namespace pftls::front {

Result<BackendAddr> ParseBackend(const std::string& spec) {
  BackendAddr out;
  out.text = spec;
  std::string s = spec;
  if (s.rfind("unix:", 0) == 0) {
    std::string path = s.substr(5);
    auto& sun = reinterpret_cast<sockaddr_un&>(out.addr);
    if (path.empty() || path.size() >= sizeof(sun.sun_path)) return MakeError("bad unix relay path: " + spec);
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    out.len = sizeof(sun);
    return out;
  }
  if (s.rfind("inet:", 0) == 0) s = s.substr(5);
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 == s.size()) return MakeError("relay needs host:port: " + spec);
  std::string host = s.substr(0, colon), port = s.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return MakeError("relay needs a host: " + spec);
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || !res) return MakeError("cannot resolve relay " + spec + ": " + gai_strerror(rc));
  std::memcpy(&out.addr, res->ai_addr, res->ai_addrlen);
  out.len = res->ai_addrlen;
  freeaddrinfo(res);
  return out;
}

std::string AddrString(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = "unknown";
  if (ss.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, buf, sizeof(buf));
  else if (ss.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr, buf, sizeof(buf));
  return buf;
}

unsigned AddrPort(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return 0;
}

}  // namespace pftls::front
