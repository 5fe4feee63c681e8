/*++
 * NAME
 *	tls/policy.h - TLS security levels, protocol lists and cipher grades
 * SYNOPSIS
 *	#include "tls/policy.h"
 *
 *	Result<TlsLevel> l = ParseServerLevel(level, use_tls, enforce_tls);
 *	Result<ProtocolPolicy> p = ParseProtocols(">=TLSv1.2, !TLSv1.3");
 *	Result<std::string> c = BuildCipherList(grade, lists, exclusions);
 * DESCRIPTION
 *	ParseServerLevel() maps a server-side security level name (spec
 *	§7.4) to its code: "none", "may", "encrypt"; "fingerprint", "verify"
 *	and "secure" are accepted with a warning and treated as "encrypt";
 *	"dane", "dane-only" and "halfdane" are invalid for a server. An empty
 *	level falls back to the legacy booleans: enforce_tls -> encrypt,
 *	use_tls -> may, else none.
 *
 *	ParseProtocols() reads Postfix protocol-list syntax: names
 *	(SSLv2 SSLv3 TLSv1 TLSv1.1 TLSv1.2 TLSv1.3) separated by comma,
 *	colon or whitespace; "!name" excludes, ">=name" sets a lower and
 *	"<=name" an upper bound; a list of bare names enables only those.
 *	The result is the set of enabled versions, applied with
 *	ApplyProtocols() as min/max version plus SSL_OP_NO_* for holes.
 *
 *	BuildCipherList() picks the grade's list (high, medium, low, export,
 *	null) and appends ":!x" for each exclusion token; tokens starting
 *	with '!', '+', '-' or '@' are rejected (spec §7.5).
 * SECURITY
 *	SSLv2 and SSLv3 are never enabled, whatever the list says.
 * DIAGNOSTICS
 *	Errors are returned as Result; callers make them fatal naming the
 *	parameter.
 * CONFIGURATION PARAMETERS
 *	*_tls_security_level, *_use_tls, *_enforce_tls, *_tls_protocols,
 *	*_tls_mandatory_protocols, *_tls_ciphers, *_tls_mandatory_ciphers,
 *	*_tls_exclude_ciphers, *_tls_mandatory_exclude_ciphers,
 *	tls_{high,medium,low,export,null}_cipherlist.
 *--*/
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

#include "util/result.h"

namespace pftls::tls {

// Numeric codes as Postfix uses them on the wire (context list `level`).
enum class TlsLevel : int {
  kNone = 0,
  kMay = 1,
  kEncrypt = 2,
  kFingerprint = 3,
  kHalfDane = 4,
  kDane = 5,
  kDaneOnly = 6,
  kVerify = 7,
  kSecure = 8,
};

const char* LevelName(TlsLevel level);
// ParseServerLevel - the effective server level; warns for levels it
// treats as "encrypt".
Result<TlsLevel> ParseServerLevel(std::string_view level, bool use_tls, bool enforce_tls);

// Protocol versions as bits of ProtocolPolicy::enabled.
enum ProtocolBit : unsigned {
  kSSLv2 = 1u << 0,
  kSSLv3 = 1u << 1,
  kTLSv1 = 1u << 2,
  kTLSv1_1 = 1u << 3,
  kTLSv1_2 = 1u << 4,
  kTLSv1_3 = 1u << 5,
};
inline constexpr unsigned kAllProtocols = kSSLv2 | kSSLv3 | kTLSv1 | kTLSv1_1 | kTLSv1_2 | kTLSv1_3;

struct ProtocolPolicy {
  unsigned enabled = kTLSv1 | kTLSv1_1 | kTLSv1_2 | kTLSv1_3;
};

Result<ProtocolPolicy> ParseProtocols(std::string_view text);
// ApplyProtocols - set min/max and SSL_OP_NO_* on ctx; error when nothing
// usable is left.
Status ApplyProtocols(SSL_CTX* ctx, const ProtocolPolicy& policy);

struct CipherLists {
  std::string high, medium, low, export_, null;
};

Result<std::string> BuildCipherList(std::string_view grade, const CipherLists& lists,
                                    std::string_view exclusions);

}  // namespace pftls::tls
