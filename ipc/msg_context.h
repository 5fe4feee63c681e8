/*++
 * NAME
 *	ipc/msg_context.h - the TLS context list tlsproxy sends (3.6-3.8 form)
 * SYNOPSIS
 *	#include "ipc/msg_context.h"
 *
 *	TlsContext ctx; ctx.cipher_protocol = "TLSv1.3"; ...
 *	Result<std::string> bytes = ctx.Encode();
 *	Result<TlsContext> got = TlsContext::Decode(record);
 * DESCRIPTION
 *	Sent by tlsproxy on the plaintext socket right after the handshake,
 *	before any decrypted byte, when the request flags had SEND_CONTEXT
 *	(spec §3.8). The Postfix 3.6-3.8 list has exactly 22 attributes, in
 *	this order (INT marked, the rest STR; missing strings are empty):
 *
 *	    peer_CN issuer_CN peer_fingerprint peer_pubkey_fingerprint
 *	    level(INT) peer_status(INT) cipher_protocol cipher_name
 *	    cipher_usebits(INT) cipher_algbits(INT) key_exchange
 *	    key_exchange_curve key_exchange_bits(INT) clnt_signature
 *	    clnt_signature_curve clnt_signature_bits(INT)
 *	    clnt_signature_digest srvr_signature srvr_signature_curve
 *	    srvr_signature_bits(INT) srvr_signature_digest namaddr
 *
 *	pftls extension: when (and only when) the request carried a pftls
 *	attribute (TlsproxyRequest::HasPftls), tlsproxy appends
 *	pftls_alpn(STR), the negotiated ALPN protocol ("" when none), after
 *	the 22 attributes. Postfix never sends pftls attributes, so its
 *	strict decoders never see it. Decode accepts it when present.
 *
 *	level is a signed TLS level code (-2..8, spec §7.4); peer_status
 *	bits are kPeerStatus*. Decode is strict: the receiver insists on the
 *	exact count and order.
 * SECURITY
 *	Strings are bounded by kMaxContextStrLen in Validate().
 * DIAGNOSTICS
 *	One-line reasons from Decode/Validate.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ipc/attr0.h"

namespace pftls::ipc {

inline constexpr size_t kTlsContextAttrCount = 22;
inline constexpr size_t kMaxContextStrLen = 1024;
inline constexpr size_t kMaxAlpnProtocolLen = 255;

inline constexpr uint32_t kPeerStatusPresent = 1;
inline constexpr uint32_t kPeerStatusAltname = 2;
inline constexpr uint32_t kPeerStatusTrusted = 4;
inline constexpr uint32_t kPeerStatusMatched = 8;
inline constexpr uint32_t kPeerStatusSecured = 16;

struct TlsContext {
  std::string peer_CN;
  std::string issuer_CN;
  std::string peer_fingerprint;
  std::string peer_pubkey_fingerprint;
  int32_t level = 0;
  uint32_t peer_status = 0;
  std::string cipher_protocol;
  std::string cipher_name;
  uint32_t cipher_usebits = 0;
  uint32_t cipher_algbits = 0;
  std::string key_exchange;
  std::string key_exchange_curve;
  uint32_t key_exchange_bits = 0;
  std::string clnt_signature;
  std::string clnt_signature_curve;
  uint32_t clnt_signature_bits = 0;
  std::string clnt_signature_digest;
  std::string srvr_signature;
  std::string srvr_signature_curve;
  uint32_t srvr_signature_bits = 0;
  std::string srvr_signature_digest;
  std::string namaddr;
  std::optional<std::string> alpn;  // pftls extension "pftls_alpn"

  Result<std::string> Encode() const;
  static Result<TlsContext> Decode(const Record& rec);
  Status Validate() const;
  bool operator==(const TlsContext&) const = default;
};

}  // namespace pftls::ipc
