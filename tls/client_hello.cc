// tls/client_hello.cc - see tls/client_hello.h.
#include "tls/client_hello.h"

#include <cstring>

namespace pftls::tls {
namespace {

constexpr unsigned kExtSessionTicket = 35;
constexpr unsigned kExtPreSharedKey = 41;
constexpr unsigned kExtSupportedVersions = 43;

unsigned U16(const unsigned char* p) { return (static_cast<unsigned>(p[0]) << 8) | p[1]; }

std::optional<TicketName> NameOf(const unsigned char* p, size_t len) {
  if (len < 16) return std::nullopt;
  TicketName n;
  std::memcpy(n.data(), p, 16);
  return n;
}

}  // namespace

std::string_view ParsePskFirstIdentity(const unsigned char* data, size_t len) {
  if (len < 2) return {};
  size_t ids_len = U16(data);
  if (ids_len + 2 > len || ids_len < 2) return {};
  size_t id_len = U16(data + 2);
  if (id_len == 0 || 2 + id_len + 4 > ids_len) return {};
  return std::string_view(reinterpret_cast<const char*>(data + 4), id_len);
}

std::optional<TicketName> OfferedTicketKeyName(SSL* ssl) {
  const unsigned char* p = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, kExtPreSharedKey, &p, &len) == 1) {
    std::string_view id = ParsePskFirstIdentity(p, len);
    if (!id.empty()) return NameOf(reinterpret_cast<const unsigned char*>(id.data()), id.size());
  }
  if (SSL_client_hello_get0_ext(ssl, kExtSessionTicket, &p, &len) == 1) return NameOf(p, len);
  return std::nullopt;
}

bool OffersTls13(SSL* ssl) {
  const unsigned char* p = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, kExtSupportedVersions, &p, &len) != 1 || len < 1) return false;
  size_t n = p[0];
  if (n + 1 > len) return false;
  for (size_t i = 1; i + 1 <= n; i += 2)
    if (p[i] == 0x03 && p[i + 1] == 0x04) return true;
  return false;
}

std::string_view OfferedSessionId(SSL* ssl) {
  const unsigned char* p = nullptr;
  size_t len = SSL_client_hello_get0_session_id(ssl, &p);
  return std::string_view(reinterpret_cast<const char*>(p), len);
}

}  // namespace pftls::tls
