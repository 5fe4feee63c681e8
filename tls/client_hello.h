/*++
 * NAME
 *	tls/client_hello.h - facts from a ClientHello, inside OpenSSL's
 *	ClientHello callback
 * SYNOPSIS
 *	#include "tls/client_hello.h"
 *
 *	std::optional<TicketName> n = OfferedTicketKeyName(ssl);
 *	bool v13 = OffersTls13(ssl);
 *	std::string_view sid = OfferedSessionId(ssl);
 * DESCRIPTION
 *	OfferedTicketKeyName() returns the first 16 bytes (the key name, in
 *	OpenSSL's ticket layout) of the ticket the client offers: the TLS 1.2
 *	session_ticket extension, or the first TLS 1.3 pre_shared_key
 *	identity. Nothing when no ticket is offered.
 *
 *	OffersTls13() tells whether supported_versions lists TLS 1.3 (then a
 *	TLS 1.3 server never resumes by legacy session id).
 *
 *	OfferedSessionId() is the legacy_session_id (0..32 bytes).
 * SECURITY
 *	Extension bytes are attacker-controlled; every length is checked
 *	against what remains before it is used.
 * DIAGNOSTICS
 *	None: malformed data simply yields "nothing offered".
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pftls::tls {

using TicketName = std::array<uint8_t, 16>;

std::optional<TicketName> OfferedTicketKeyName(SSL* ssl);
bool OffersTls13(SSL* ssl);
std::string_view OfferedSessionId(SSL* ssl);

// ParsePskFirstIdentity - the first identity of a pre_shared_key
// extension body (exposed for tests); empty view when malformed.
std::string_view ParsePskFirstIdentity(const unsigned char* data, size_t len);

}  // namespace pftls::tls
