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
 *	SendWithFd() and RecvWithFds() are the general form: bytes with a
 *	descriptor riding on them (the pftls early hand-off, msg_tlsproxy.h),
 *	and a read that keeps whatever descriptors came with the bytes.
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
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace pftls::ipc {

// SendFd - send one descriptor with a one-byte NUL payload.
Status SendFd(int sock, int fd);

// RecvFd - receive exactly one descriptor (see above).
Result<std::optional<UniqueFd>> RecvFd(int sock);

// SendWithFd - len bytes (len > 0) in one sendmsg, fd riding on them.
Status SendWithFd(int sock, const void* bytes, size_t len, int fd);

// RecvWithFds - one recvmsg of up to len bytes into buf, keeping every
// descriptor that came with them (at most 8; MSG_CTRUNC is an error).
struct Received {
  size_t n = 0;
  bool eof = false;    // end of file (n == 0)
  bool again = false;  // nothing yet (EAGAIN)
  std::vector<UniqueFd> fds;
};
Result<Received> RecvWithFds(int sock, void* buf, size_t len);

}  // namespace pftls::ipc
