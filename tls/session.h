/*++
 * NAME
 *	tls/session.h - TLS session serialisation and Postfix cache ids
 * SYNOPSIS
 *	#include "tls/session.h"
 *
 *	std::string id = ServerCacheId(sid, sid_len, "smtpd");
 *	Result<std::vector<uint8_t>> der = SerializeSession(sess);
 *	SslSessionPtr s = ParseSession(der.data(), der.size());
 * DESCRIPTION
 *	ServerCacheId() builds the key a Postfix server uses for its
 *	`smtpd` session cache entry: the session id in uppercase hex, then
 *	"&s=<serverid>", then "&l=<OpenSSL_version_num() in decimal>"
 *	(spec §5.4), so pftls and Postfix servers sharing one tlsmgr cache
 *	use the same ids.
 *
 *	SerializeSession()/ParseSession() convert between SSL_SESSION and
 *	its DER form (what travels in the `session` attribute to tlsmgr);
 *	ParseSession() returns nullptr for anything that is not exactly one
 *	DER session of at most kMaxSessionBytes.
 * SECURITY
 *	Session bytes are secret (they hold the master secret): never log
 *	them. Parsing is bounded and rejects trailing bytes.
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/handles.h"
#include "util/result.h"

namespace pftls::tls {

inline constexpr size_t kMaxSessionBytes = 16 * 1024;

std::string ServerCacheId(const unsigned char* sid, size_t len, std::string_view serverid);
Result<std::vector<uint8_t>> SerializeSession(SSL_SESSION* session);
SslSessionPtr ParseSession(const uint8_t* data, size_t len);

}  // namespace pftls::tls
