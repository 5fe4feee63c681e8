/*++
 * NAME
 *	ipc/msg_tlsproxy.h - the tlsproxy hand-off request and status reply
 * SYNOPSIS
 *	#include "ipc/msg_tlsproxy.h"
 *
 *	TlsproxyRequest req{"[192.0.2.1]:54321", kTlsproxyRoleServer, 300, 300, "smtpd"};
 *	Result<std::string> bytes = req.Encode();
 *	Result<TlsproxyRequest> got = TlsproxyRequest::Decode(record);
 *	Result<std::string> st = TlsproxyStatus{1}.Encode();
 * DESCRIPTION
 *	The postscreen -> tlsproxy exchange of Postfix 3.6-3.11 (spec §3.2),
 *	after the announcement "protocol=tlsproxy_protocol":
 *
 *	    client: remote_endpoint(STR) flags(INT) timeout(INT, handshake)
 *	            timeout(INT, session) serverid(STR) [pftls_flags(INT)]
 *	            [pftls_alpn(STR)]
 *	    server: status(INT: 1 TLS available, 0 not)
 *	    client: one fd by SCM_RIGHTS with a 1-byte NUL payload (fdpass.h)
 *	    server: the TLS context list when flags has kTlsproxySendContext
 *	            (msg_context.h)
 *
 *	pftls_flags and pftls_alpn are pftls extensions after the Postfix
 *	attributes, in this order, each optional: pftls_flags holds
 *	kPftlsHalfClose (end each relay direction on its own, for tlsfront),
 *	kPftlsDirectRelay and kPftlsEarlyFd (below), and pftls_alpn a comma-separated ALPN
 *	protocol list in server preference order.
 *
 *	Direct relay (kPftlsDirectRelay; needs kTlsproxySendContext): the
 *	plaintext stream does not go over this connection. After the
 *	context list the exchange goes on:
 *
 *	    client: the backend socket, by SCM_RIGHTS (one NUL byte, as the
 *	            client socket; a SOCK_STREAM socket, anything else ends
 *	            the session); anything the client wants the backend
 *	            to see first (a PROXY header) is already written to it
 *	    server: relays TLS <-> backend itself; decrypted client bytes
 *	            that arrive before the backend socket are held, at most
 *	            one relay buffer (then TLS reads stop)
 *	    server: at the end, one record TlsproxyDone (bytes_in: client
 *	            to backend, bytes_out: backend to client), then close
 *
 *	Any byte or end of file from the client after the backend socket
 *	ends the session (the front end's total time limit, its shutdown).
 *
 *	Early hand-off (kPftlsEarlyFd): the client socket rides on the
 *	request's own bytes (one sendmsg, SCM_RIGHTS, no separate NUL-byte
 *	message), so the server starts the handshake at once, and the
 *	client reads announcement, status and context list in sequence
 *	without writing anything in between. With status 1 and
 *	kTlsproxySendContext the server holds announcement and status back
 *	and sends them with the context list, in one write; an end of file
 *	before that is a failed handshake. With status 0 the server sends
 *	both at once, closes that descriptor and waits for the hang-up as
 *	usual. A descriptor with a request that lacks this flag, or more than one,
 *	drops the connection.
 *
 *	Postfix never sends the pftls extensions; Decode accepts the
 *	record with or without them, and Encode writes each only when set.
 *	HasPftls() tells whether the request carried any: only then may
 *	tlsproxy append its own extension to the context list
 *	(msg_context.h).
 *
 *	Validate(): exactly one role bit, no unknown flag bits, timeouts
 *	1..kMaxTlsproxyTimeout, endpoint and serverid non-empty and bounded,
 *	ALPN names 1..255 bytes, no unknown pftls_flags bits.
 * SECURITY
 *	The request comes from an unprivileged front end; every field is
 *	bounded before it is used (endpoint only for logging).
 * DIAGNOSTICS
 *	"bad request flags: 0x%x" (Postfix's wording) and other one-line
 *	reasons from Decode/Validate.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ipc/attr0.h"

namespace pftls::ipc {

inline constexpr uint32_t kTlsproxyRoleServer = 1u << 0;
inline constexpr uint32_t kTlsproxyRoleClient = 1u << 1;
inline constexpr uint32_t kTlsproxySendContext = 1u << 2;
inline constexpr uint32_t kTlsproxyProbeOnly = 1u << 3;
inline constexpr uint32_t kTlsproxyKnownFlags =
    kTlsproxyRoleServer | kTlsproxyRoleClient | kTlsproxySendContext | kTlsproxyProbeOnly;

// pftls_flags bits.
inline constexpr uint32_t kPftlsHalfClose = 1u << 0;
inline constexpr uint32_t kPftlsDirectRelay = 1u << 1;
inline constexpr uint32_t kPftlsEarlyFd = 1u << 2;
inline constexpr uint32_t kPftlsKnownFlags = kPftlsHalfClose | kPftlsDirectRelay | kPftlsEarlyFd;

inline constexpr uint32_t kMaxTlsproxyTimeout = 24 * 3600;
inline constexpr size_t kMaxEndpointLen = 256;
inline constexpr size_t kMaxServerIdLen = 1024;
inline constexpr size_t kMaxAlpnLen = 1024;

struct TlsproxyRequest {
  std::string remote_endpoint;
  uint32_t flags = 0;
  uint32_t handshake_timeout = 0;
  uint32_t session_timeout = 0;
  std::string serverid;
  std::optional<uint32_t> pftls_flags;  // pftls extension "pftls_flags"
  std::optional<std::string> alpn;      // pftls extension "pftls_alpn"

  bool HasPftls() const { return pftls_flags.has_value() || alpn.has_value(); }

  Result<std::string> Encode() const;
  static Result<TlsproxyRequest> Decode(const Record& rec);
  Status Validate() const;
  bool operator==(const TlsproxyRequest&) const = default;
};

struct TlsproxyStatus {
  uint32_t status = 0;  // 1 = TLS available

  Result<std::string> Encode() const { return Writer().Int("status", status).Finish(); }
  static Result<TlsproxyStatus> Decode(const Record& rec) {
    Reader r(rec, Reader::kStrict);
    Result<uint32_t> s = r.Int("status");
    if (!s) return MakeError("tlsproxy status: " + s.error());
    if (Status e = r.End(); !e) return MakeError("tlsproxy status: " + e.error());
    return TlsproxyStatus{*s};
  }
  Status Validate() const {
    if (status > 1) return MakeError("tlsproxy status is not 0 or 1");
    return Status::Ok();
  }
  bool operator==(const TlsproxyStatus&) const = default;
};

// TlsproxyDone - the last record of a direct-relay session (tlsproxy ->
// front): bytes relayed each way.
struct TlsproxyDone {
  uint64_t bytes_in = 0;   // client -> backend
  uint64_t bytes_out = 0;  // backend -> client

  Result<std::string> Encode() const { return Writer().Long("bytes_in", bytes_in).Long("bytes_out", bytes_out).Finish(); }
  static Result<TlsproxyDone> Decode(const Record& rec) {
    Reader r(rec, Reader::kStrict);
    Result<uint64_t> in = r.Long("bytes_in");
    if (!in) return MakeError("tlsproxy done: " + in.error());
    Result<uint64_t> out = r.Long("bytes_out");
    if (!out) return MakeError("tlsproxy done: " + out.error());
    if (Status e = r.End(); !e) return MakeError("tlsproxy done: " + e.error());
    return TlsproxyDone{*in, *out};
  }
  bool operator==(const TlsproxyDone&) const = default;
};

}  // namespace pftls::ipc
