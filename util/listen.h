/*++
 * NAME
 *	util/listen.h - create listening sockets (UNIX-domain and TCP)
 * SYNOPSIS
 *	#include "util/listen.h"
 *
 *	Result<UniqueFd> u = ListenUnix("/var/spool/postfix/private/tlsmgr", 100);
 *	Result<UniqueFd> t = ListenInet("127.0.0.1", "10025", 100);
 *	Result<std::vector<UniqueFd>> v = ListenFromSpec("unix:/tmp/s,inet:127.0.0.1:9");
 *	Result<std::pair<std::string,std::string>> hp = SplitHostPort("[::1]:25");
 * DESCRIPTION
 *	Every socket is non-blocking and close-on-exec. ListenUnix removes a
 *	stale socket file first and leaves the new one mode 0666 (callers
 *	restrict access with the directory, as Postfix's private/ does).
 *	ListenInet binds with SO_REUSEADDR; host must be a numeric address
 *	("" or "*" = all IPv4 addresses), port numeric or a service name.
 *	ListenFromSpec parses the PFTLS_LISTEN syntax of util/daemon.h.
 * SECURITY
 *	ListenUnix unlinks only a socket, never a regular file.
 * DIAGNOSTICS
 *	Errors name the address and the failing call.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace pftls {

Result<UniqueFd> ListenUnix(const std::string& path, int backlog);
Result<UniqueFd> ListenInet(const std::string& host, const std::string& port, int backlog);
Result<std::vector<UniqueFd>> ListenFromSpec(const std::string& spec, int backlog);
// SplitHostPort - "host:port", "[v6]:port" or "port" (host "").
Result<std::pair<std::string, std::string>> SplitHostPort(const std::string& text);

}  // namespace pftls
