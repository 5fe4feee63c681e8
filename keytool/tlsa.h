/*++
 * NAME
 *	keytool/tlsa.h - DANE TLSA "3 1 1" records and SPKI digests
 * SYNOPSIS
 *	#include "keytool/tlsa.h"
 *
 *	Result<std::string> hex = SpkiSha256Hex(pkey);
 *	std::string rr = TlsaRecord(25, "mx.example", *hex);
 * DESCRIPTION
 *	SpkiSha256Hex() is the lowercase hex SHA-256 of the DER
 *	SubjectPublicKeyInfo of a key (or of a certificate's key with
 *	CertSpkiSha256Hex()); postfix-tls compares these to decide whether
 *	a certificate matches a key, and prints them as TLSA data.
 *
 *	TlsaRecord() formats one record exactly as postfix-tls-script does,
 *	"_<port>._tcp.<host>. IN TLSA 3 1 1 <hex>\n" (the host is used as
 *	given: no trailing dot is removed or added).
 * SECURITY
 *	Public data only.
 * DIAGNOSTICS
 *	Errors come back as Result text.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <string>
#include <string_view>

#include "util/handles.h"
#include "util/result.h"

namespace pftls::keytool {

inline constexpr int kDefaultTlsaPort = 25;

std::string HexLower(std::string_view bytes);
Result<std::string> SpkiSha256Hex(EVP_PKEY* pkey);
Result<std::string> CertSpkiSha256Hex(X509* cert);
std::string TlsaRecord(int port, const std::string& host, const std::string& hex);

}  // namespace pftls::keytool
