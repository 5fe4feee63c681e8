// front/backend_addr.h - parse a relay destination: "inet:host:port",
// "host:port", "[ipv6]:port" or "unix:/path". Names are resolved once, at
// start-up (before the jail); the first address is used.
#pragma once

#include <sys/socket.h>

#include <string>

#include "util/result.h"

namespace pftls::front {

struct BackendAddr {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;
};

Result<BackendAddr> ParseBackend(const std::string& spec);
// AddrString - the numeric address of an AF_INET/AF_INET6 peer ("unknown" else).
std::string AddrString(const sockaddr_storage& ss);
// AddrPort - the port of an AF_INET/AF_INET6 address (0 else).
unsigned AddrPort(const sockaddr_storage& ss);

}  // namespace pftls::front
