/*++
 * NAME
 *	tls/facts.h - what a finished TLS handshake negotiated, and the
 *	Postfix TLS summary log line
 * SYNOPSIS
 *	#include "tls/facts.h"
 *
 *	SessionFacts f = DescribeServerSession(ssl, fingerprint_md);
 *	log::Info("%s", SummaryLine(f, "from", "[192.0.2.1]:54321").c_str());
 * DESCRIPTION
 *	DescribeServerSession() collects, from the server's point of view,
 *	the facts Postfix reports in its TLS context list (spec §3.8) and
 *	its summary line: peer and issuer common names, certificate and
 *	public-key fingerprints (uppercase hex pairs joined by ':'), the
 *	peer_status bits, protocol, cipher and its bits, the key exchange
 *	(name, curve or bits) and the client and server signature
 *	algorithms (name, curve or bits, digest).
 *
 *	SummaryLine() formats exactly as Postfix:
 *	"<Anonymous|Untrusted|Trusted> TLS connection <established|reused>
 *	from <namaddr>: <protocol> with cipher <cipher> (<use>/<alg> bits)"
 *	followed by " key-exchange X", " (curve)" or " (N bits)",
 *	" server-signature S (curve|N bits)", " server-digest D",
 *	" client-signature ...", " client-digest ..." when known.
 * SECURITY
 *	Strings taken from certificates are cut to a bounded length and
 *	non-printable bytes are replaced, before anyone logs them.
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	<prefix>fingerprint_digest (chooses fingerprint_md).
 *--*/
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

namespace pftls::tls {

// peer_status bits (spec §3.8).
inline constexpr int kPeerPresent = 1, kPeerAltname = 2, kPeerTrusted = 4, kPeerMatched = 8,
                     kPeerSecured = 16;

struct SessionFacts {
  std::string peer_CN, issuer_CN, peer_fingerprint, peer_pubkey_fingerprint;
  int peer_status = 0;
  std::string protocol, cipher_name;
  int cipher_usebits = 0, cipher_algbits = 0;
  std::string kex_name, kex_curve;
  int kex_bits = 0;
  std::string clnt_sig, clnt_sig_curve, clnt_sig_digest;
  int clnt_sig_bits = 0;
  std::string srvr_sig, srvr_sig_curve, srvr_sig_digest;
  int srvr_sig_bits = 0;
  bool reused = false;
  std::string alpn;  // negotiated ALPN protocol (filled by the session, "" none)
};

SessionFacts DescribeServerSession(SSL* ssl, const EVP_MD* fingerprint_md);
std::string SummaryLine(const SessionFacts& f, std::string_view direction, std::string_view namaddr);
// Fingerprint - digest of bytes as "AB:CD:...".
std::string Fingerprint(const unsigned char* data, size_t len, const EVP_MD* md);

}  // namespace pftls::tls
