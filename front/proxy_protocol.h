/*++
 * NAME
 *	front/proxy_protocol.h - PROXY protocol v1 and v2 headers toward a backend
 * SYNOPSIS
 *	#include "front/proxy_protocol.h"
 *
 *	ProxyInfo p{client_addr, local_addr};
 *	p.tls = true; p.tls_version = "TLSv1.3"; p.tls_cipher = "TLS_AES_...";
 *	std::string h1 = ProxyV1Header(p);
 *	std::string h2 = ProxyV2Header(p);
 * DESCRIPTION
 *	ProxyV1Header(): "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n",
 *	or "PROXY UNKNOWN\r\n" for other address families.
 *
 *	ProxyV2Header(): the 12-byte signature, version 2 / PROXY command,
 *	TCP over IPv4 or IPv6 (or LOCAL/UNSPEC for other families), the
 *	addresses, then TLVs: PP2_TYPE_ALPN when a protocol was negotiated
 *	and PP2_TYPE_SSL (client flags PP2_CLIENT_SSL, verify 0 only when a
 *	client certificate verified) with the PP2_SUBTYPE_SSL_VERSION,
 *	_CIPHER, _SIG_ALG and _KEY_ALG sub-TLVs, the way hitch's
 *	write-proxy-v2 does.
 * SECURITY
 *	Values come from our own TLS session; strings are cut so every TLV
 *	length fits its 16-bit field.
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	tlsfront_proxy_protocol (chooses the version).
 *--*/
#pragma once

#include <sys/socket.h>

#include <string>

namespace pftls::front {

struct ProxyInfo {
  sockaddr_storage src{};  // the remote client
  sockaddr_storage dst{};  // our listening address
  bool tls = false;
  bool cert_presented = false, cert_verified = false;
  std::string tls_version, tls_cipher, sig_alg, key_alg, alpn;
};

std::string ProxyV1Header(const ProxyInfo& p);
std::string ProxyV2Header(const ProxyInfo& p);

}  // namespace pftls::front
