// front/proxy_protocol.cc - see front/proxy_protocol.h.
#include "front/proxy_protocol.h"

#include "front/backend_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace pftls::front {
namespace {

constexpr unsigned char kSig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr unsigned char kPp2TypeAlpn = 0x01;
constexpr unsigned char kPp2TypeSsl = 0x20;
constexpr unsigned char kPp2SubtypeSslVersion = 0x21;
constexpr unsigned char kPp2SubtypeSslCipher = 0x23;
constexpr unsigned char kPp2SubtypeSslSigAlg = 0x24;
constexpr unsigned char kPp2SubtypeSslKeyAlg = 0x25;
constexpr unsigned char kPp2ClientSsl = 0x01;
constexpr unsigned char kPp2ClientCertConn = 0x02;
constexpr size_t kMaxTlvValue = 4096;

void PutU16(std::string* out, size_t v) {
  out->push_back(static_cast<char>((v >> 8) & 0xff));
  out->push_back(static_cast<char>(v & 0xff));
}

void Tlv(std::string* out, unsigned char type, std::string_view value) {
  if (value.size() > kMaxTlvValue) value = value.substr(0, kMaxTlvValue);
  out->push_back(static_cast<char>(type));
  PutU16(out, value.size());
  out->append(value);
}

bool SameFamily(const ProxyInfo& p, int fam) { return p.src.ss_family == fam && p.dst.ss_family == fam; }

}  // namespace

std::string ProxyV1Header(const ProxyInfo& p) {
  const char* proto = SameFamily(p, AF_INET) ? "TCP4" : SameFamily(p, AF_INET6) ? "TCP6" : nullptr;
  if (!proto) return "PROXY UNKNOWN\r\n";
  return std::string("PROXY ") + proto + " " + AddrString(p.src) + " " + AddrString(p.dst) + " " +
         std::to_string(AddrPort(p.src)) + " " + std::to_string(AddrPort(p.dst)) + "\r\n";
}

std::string ProxyV2Header(const ProxyInfo& p) {
  std::string body;
  unsigned char fam = 0x00;  // UNSPEC
  unsigned char cmd = 0x21;  // version 2, PROXY
  if (SameFamily(p, AF_INET)) {
    fam = 0x11;
    const auto& s = reinterpret_cast<const sockaddr_in&>(p.src);
    const auto& d = reinterpret_cast<const sockaddr_in&>(p.dst);
    body.append(reinterpret_cast<const char*>(&s.sin_addr), 4);
    body.append(reinterpret_cast<const char*>(&d.sin_addr), 4);
    body.append(reinterpret_cast<const char*>(&s.sin_port), 2);
    body.append(reinterpret_cast<const char*>(&d.sin_port), 2);
  } else if (SameFamily(p, AF_INET6)) {
    fam = 0x21;
    const auto& s = reinterpret_cast<const sockaddr_in6&>(p.src);
    const auto& d = reinterpret_cast<const sockaddr_in6&>(p.dst);
    body.append(reinterpret_cast<const char*>(&s.sin6_addr), 16);
    body.append(reinterpret_cast<const char*>(&d.sin6_addr), 16);
    body.append(reinterpret_cast<const char*>(&s.sin6_port), 2);
    body.append(reinterpret_cast<const char*>(&d.sin6_port), 2);
  } else {
    cmd = 0x20;  // LOCAL: no address information
  }
  if (!p.alpn.empty()) Tlv(&body, kPp2TypeAlpn, p.alpn);
  if (p.tls) {
    std::string ssl;
    unsigned char client = kPp2ClientSsl | (p.cert_presented ? kPp2ClientCertConn : 0);
    ssl.push_back(static_cast<char>(client));
    uint32_t verify = p.cert_verified ? 0 : 1;
    uint32_t be = htonl(verify);
    ssl.append(reinterpret_cast<const char*>(&be), 4);
    if (!p.tls_version.empty()) Tlv(&ssl, kPp2SubtypeSslVersion, p.tls_version);
    if (!p.tls_cipher.empty()) Tlv(&ssl, kPp2SubtypeSslCipher, p.tls_cipher);
    if (!p.sig_alg.empty()) Tlv(&ssl, kPp2SubtypeSslSigAlg, p.sig_alg);
    if (!p.key_alg.empty()) Tlv(&ssl, kPp2SubtypeSslKeyAlg, p.key_alg);
    Tlv(&body, kPp2TypeSsl, ssl);
  }
  std::string out(reinterpret_cast<const char*>(kSig), sizeof(kSig));
  out.push_back(static_cast<char>(cmd));
  out.push_back(static_cast<char>(fam));
  PutU16(&out, body.size());
  out += body;
  return out;
}

}  // namespace pftls::front
