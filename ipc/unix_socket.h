/*++
 * NAME
 *	ipc/unix_socket.h - create, listen on and connect to UNIX stream sockets
 * SYNOPSIS
 *	#include "ipc/unix_socket.h"
 *
 *	Result<UniqueFd> l = ListenUnix("/tmp/x/private/tlsmgr", 0666);
 *	Result<UniqueFd> c = ConnectUnix("/tmp/x/private/tlsmgr", &in_progress);
 *
 *	Status st = ReserveUnixSockets(16, [] { ... drain ... });
 *	size_t left = ReservedUnixSockets();
 * DESCRIPTION
 *	ListenUnix() - unlink a stale socket at path, bind a new
 *	non-blocking, close-on-exec SOCK_STREAM socket there, chmod it to
 *	mode and listen with the given backlog.
 *
 *	ConnectUnix() - a non-blocking, close-on-exec socket connected or
 *	connecting to path; *in_progress is set when the connect has not
 *	completed yet (wait for writability, then check SO_ERROR).
 *
 *	Both fail when path does not fit in sockaddr_un.
 *
 *	ReserveUnixSockets() - for a process whose sandbox forbids creating
 *	sockets (tlsproxy): create n unconnected sockets now, before the
 *	jail. From then on ConnectUnix() takes its socket from this reserve
 *	instead of calling socket(2); a connect that fails at once
 *	(ENOENT, ECONNREFUSED, EAGAIN) gives the socket back, since an
 *	unconnected AF_UNIX socket may connect again. When the reserve is
 *	empty ConnectUnix() fails ("socket reserve exhausted") and calls
 *	on_empty once, so that the process can retire.
 * SECURITY
 *	The socket's permissions come from mode and from the directory it
 *	lives in (Postfix: 0666 inside a 0700 private/ directory).
 * DIAGNOSTICS
 *	Errors carry the path and strerror(errno).
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace pftls::ipc {

Result<UniqueFd> ListenUnix(const std::string& path, mode_t mode = 0666, int backlog = 128);
Result<UniqueFd> ConnectUnix(const std::string& path, bool* in_progress);
Status ReserveUnixSockets(size_t n, std::function<void()> on_empty);
size_t ReservedUnixSockets();

}  // namespace pftls::ipc
