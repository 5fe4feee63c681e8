/*++
 * NAME
 *	ipc/fdpass.h - pass one file descriptor over a UNIX stream socket
 * SYNOPSIS
 *	#include "ipc/fdpass.h"
 *
 *	Status s = SendFd(proxy_sock, client_fd);
 *	Result<std::optional<UniqueFd>> r = RecvFd(sock);
 *	if (!r) drop peer; else if (!*r) wait for readability; else use **r;
 * DESCRIPTION
 *	The wire form of the postscreen -> tlsproxy hand-off (spec §3.6): one
 *	sendmsg() with a one-byte payload (a NUL) and one SOL_SOCKET/SCM_RIGHTS
 *	control message carrying exactly one descriptor. There is no
 *	acknowledgement.
 *
 *	SendFd() - send fd; retries EINTR; on a first failure other than
 *	EAGAIN retries once with msg_controllen = CMSG_LEN(sizeof(int)) as
 *	Postfix does. Returns an error on failure (including EAGAIN).
 *
 *	RecvFd() - receive with MSG_CMSG_CLOEXEC. Returns the descriptor, or
 *	std::nullopt when the (non-blocking) socket has nothing yet (EAGAIN),
 *	or an error: end of file / zero bytes, a payload other than one NUL
 *	byte, truncated control data (MSG_CTRUNC), no descriptor, more than
 *	one descriptor, or a control message of another level or type.
 * SECURITY
 *	Every received descriptor is wrapped in UniqueFd before any check can
 *	fail, so rejected extra descriptors are closed, never leaked, and
 *	none survives an exec (MSG_CMSG_CLOEXEC). Only channels that expect a
 *	descriptor call RecvFd(); tlsmgr never does.
 * DIAGNOSTICS
 *	One-line error reasons; the caller logs once and drops the peer.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <optional>

#include "util/fd.h"
#include "util/result.h"

namespace pftls::ipc {

// SendFd - send one descriptor with a one-byte NUL payload.
Status SendFd(int sock, int fd);

// RecvFd - receive exactly one descriptor (see above).
Result<std::optional<UniqueFd>> RecvFd(int sock);

}  // namespace pftls::ipc
