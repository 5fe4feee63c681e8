// tls/session.cc - see tls/session.h.
#include "tls/session.h"

#include <openssl/crypto.h>

#include "util/hex.h"

namespace pftls::tls {

std::string ServerCacheId(const unsigned char* sid, size_t len, std::string_view serverid) {
  std::string out = HexEncode(sid, len);
  out += "&s=";
  out += serverid;
  out += "&l=";
  out += std::to_string(OpenSSL_version_num());
  return out;
}

Result<std::vector<uint8_t>> SerializeSession(SSL_SESSION* session) {
  int n = i2d_SSL_SESSION(session, nullptr);
  if (n <= 0) return MakeError("cannot serialise TLS session");
  if (static_cast<size_t>(n) > kMaxSessionBytes) return MakeError("TLS session too large to cache");
  std::vector<uint8_t> out(static_cast<size_t>(n));
  unsigned char* p = out.data();
  if (i2d_SSL_SESSION(session, &p) != n) return MakeError("cannot serialise TLS session");
  return out;
}

SslSessionPtr ParseSession(const uint8_t* data, size_t len) {
  if (!data || len == 0 || len > kMaxSessionBytes) return nullptr;
  const unsigned char* p = data;
  SslSessionPtr s(d2i_SSL_SESSION(nullptr, &p, static_cast<long>(len)));
  if (!s || p != data + len) return nullptr;
  return s;
}

}  // namespace pftls::tls
